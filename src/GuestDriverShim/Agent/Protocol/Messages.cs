using System.Buffers.Binary;
using System.Text;

namespace Ivshmem.Agent.Protocol;

/// <summary>A protocol violation by the peer (a message too short, an unknown version).</summary>
internal sealed class ProtocolException(string message) : Exception(message);

internal readonly record struct HelloMessage(Operation Operation, ulong Conversation, long Size, long Parameter, string Name)
{
    public const uint Magic = 0x47415649; // "IVAG"
    public const ushort Version = 1;
    private const int FixedSize = 4 + 2 + 2 + 8 + 8 + 8 + 2;

    public byte[] Encode()
    {
        byte[] name = Encoding.UTF8.GetBytes(Name);
        if (name.Length > 1024) name = name[..1024];
        var b = new byte[FixedSize + name.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), (ushort)Operation);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), Conversation);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), Size);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(24), Parameter);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(32), (ushort)name.Length);
        name.CopyTo(b.AsSpan(FixedSize));
        return b;
    }

    public static HelloMessage Decode(ReadOnlySpan<byte> b)
    {
        if (b.Length < FixedSize || BinaryPrimitives.ReadUInt32LittleEndian(b) != Magic)
            throw new ProtocolException("the peer's Hello is not an ivshmem-agent Hello (bad magic or too short)");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(b[4..]);
        if (version != Version)
            throw new ProtocolException($"the peer speaks agent protocol version {version}; this agent speaks {Version}: use the same ivshmem-agent on both sides");
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(b[32..]);
        if (FixedSize + nameLength > b.Length) throw new ProtocolException("the peer's Hello is truncated");
        return new HelloMessage(
            (Operation)BinaryPrimitives.ReadUInt16LittleEndian(b[6..]),
            BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(b[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(b[24..]),
            Encoding.UTF8.GetString(b.Slice(FixedSize, nameLength)));
    }
}

internal readonly record struct EndMessage(ulong Conversation, long Total, UInt128 Hash)
{
    public const int Size = 8 + 8 + 16;

    public byte[] Encode()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteUInt64LittleEndian(b, Conversation);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), Total);
        BinaryPrimitives.WriteUInt128LittleEndian(b.AsSpan(16), Hash);
        return b;
    }

    public static EndMessage Decode(ReadOnlySpan<byte> b)
    {
        if (b.Length < Size) throw new ProtocolException($"an End message of {b.Length} bytes is too short");
        return new EndMessage(BinaryPrimitives.ReadUInt64LittleEndian(b), BinaryPrimitives.ReadInt64LittleEndian(b[8..]), BinaryPrimitives.ReadUInt128LittleEndian(b[16..]));
    }
}

internal readonly record struct AckMessage(ulong Conversation, AckStatus Status, long Received, UInt128 Hash, string Message)
{
    private const int FixedSize = 8 + 4 + 8 + 16;

    public byte[] Encode()
    {
        byte[] text = Encoding.UTF8.GetBytes(Message);
        if (text.Length > 4000) text = text[..4000];
        var b = new byte[FixedSize + text.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(b, Conversation);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)Status);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(12), Received);
        BinaryPrimitives.WriteUInt128LittleEndian(b.AsSpan(20), Hash);
        text.CopyTo(b.AsSpan(FixedSize));
        return b;
    }

    public static AckMessage Decode(ReadOnlySpan<byte> b)
    {
        if (b.Length < FixedSize) throw new ProtocolException($"an Ack message of {b.Length} bytes is too short");
        return new AckMessage(BinaryPrimitives.ReadUInt64LittleEndian(b), (AckStatus)BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(b[12..]), BinaryPrimitives.ReadUInt128LittleEndian(b[20..]), Encoding.UTF8.GetString(b[FixedSize..]));
    }
}

/// <summary>Messages that are a conversation id and an optional text (Accept, Bye, Abort).</summary>
internal static class ConversationMessage
{
    public static byte[] Encode(ulong conversation, string text = "")
    {
        byte[] t = Encoding.UTF8.GetBytes(text);
        if (t.Length > 4000) t = t[..4000];
        var b = new byte[8 + t.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(b, conversation);
        t.CopyTo(b.AsSpan(8));
        return b;
    }

    public static ulong Conversation(ReadOnlySpan<byte> b) =>
        b.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(b) : throw new ProtocolException($"a message of {b.Length} bytes has no conversation id");

    public static string Text(ReadOnlySpan<byte> b) => b.Length > 8 ? Encoding.UTF8.GetString(b[8..]) : "";

    public static ulong NewId()
    {
        ulong id = 0;
        // Not RandomNumberGenerator: on Linux it needs OpenSSL, which a minimal guest lacks; an id
        // only has to differ from earlier runs'.
        while (id == 0) id = (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.NextInt64() << 1);
        return id;
    }
}

/// <summary>Two signed 64-bit numbers (BenchResult: bytes, nanoseconds; BenchPull: bytes, chunk).</summary>
internal static class PairMessage
{
    public static byte[] Encode(long a, long b)
    {
        var m = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(m, a);
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(8), b);
        return m;
    }

    public static (long A, long B) Decode(ReadOnlySpan<byte> m) =>
        m.Length >= 16
            ? (BinaryPrimitives.ReadInt64LittleEndian(m), BinaryPrimitives.ReadInt64LittleEndian(m[8..]))
            : throw new ProtocolException($"a message of {m.Length} bytes is too short for two numbers");
}
