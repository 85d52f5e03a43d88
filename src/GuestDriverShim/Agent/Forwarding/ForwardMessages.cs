using System.Buffers.Binary;
using System.Text;

namespace Ivshmem.Agent.Forwarding;

/// <summary>Encodings of the Fwd* messages: a connection id first, then the message's own part.</summary>
internal static class ForwardMessages
{
    public static byte[] Id(uint connection)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, connection);
        return b;
    }

    public const int CreditSize = 8;

    /// <summary>Writes a FwdCredit into <paramref name="message"/> (<see cref="CreditSize"/> bytes):
    /// one goes out after every write to a socket, so it is not allocated.</summary>
    public static ReadOnlySpan<byte> Credit(uint connection, int bytes, Span<byte> message)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(message, connection);
        BinaryPrimitives.WriteInt32LittleEndian(message[4..], bytes);
        return message[..CreditSize];
    }

    public static byte[] Reset(uint connection, string why)
    {
        byte[] text = Encoding.UTF8.GetBytes(why);
        if (text.Length > 1000) text = text[..1000];
        var b = new byte[4 + text.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, connection);
        text.CopyTo(b.AsSpan(4));
        return b;
    }

    public static uint ConnectionOf(ReadOnlySpan<byte> message) =>
        message.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(message) : throw new Protocol.ProtocolException("a forwarding message without a connection id");

    public static int CreditOf(ReadOnlySpan<byte> message) =>
        message.Length >= 8 ? BinaryPrimitives.ReadInt32LittleEndian(message[4..]) : throw new Protocol.ProtocolException("a FwdCredit message without a byte count");

    public static string TextOf(ReadOnlySpan<byte> message) => message.Length > 4 ? Encoding.UTF8.GetString(message[4..]) : "";
}
