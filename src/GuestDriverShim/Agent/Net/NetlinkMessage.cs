using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Ivshmem.Interop;

namespace Ivshmem.Agent.Net;

/// <summary>
/// Builds one rtnetlink request: the nlmsghdr, the message's fixed struct (rtmsg, ifaddrmsg,
/// ifinfomsg), then attributes, each on a 4-byte boundary (NLMSG_ALIGN, RTA_ALIGN in netlink(7)).
/// Control-plane only: a route change, not a packet.
/// </summary>
internal sealed class NetlinkRequest
{
    private readonly byte[] _buffer = new byte[1024];
    private int _length;

    public NetlinkRequest(int type, int flags)
    {
        _length = Marshal.SizeOf<nlmsghdr>();
        var header = new nlmsghdr { nlmsg_type = (ushort)type, nlmsg_flags = (ushort)(flags | NLM_F_REQUEST) };
        MemoryMarshal.Write(_buffer, in header);
    }

    public int Type => BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(4));

    public int Flags => BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(6));

    /// <summary>The message's fixed part (rtmsg, ifaddrmsg, ifinfomsg).</summary>
    public NetlinkRequest Fixed<T>(T value) where T : unmanaged
    {
        MemoryMarshal.Write(_buffer.AsSpan(_length), in value);
        _length = Align(_length + Marshal.SizeOf<T>());
        return this;
    }

    public NetlinkRequest Attribute(int type, ReadOnlySpan<byte> value)
    {
        int total = Marshal.SizeOf<rtattr>() + value.Length;
        var header = new rtattr { rta_len = (ushort)total, rta_type = (ushort)type };
        MemoryMarshal.Write(_buffer.AsSpan(_length), in header);
        value.CopyTo(_buffer.AsSpan(_length + Marshal.SizeOf<rtattr>()));
        _length = Align(_length + total);
        return this;
    }

    public NetlinkRequest Attribute(int type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return Attribute(type, bytes);
    }

    public NetlinkRequest Attribute(int type, IPAddress address) => Attribute(type, address.GetAddressBytes());

    public NetlinkRequest Attribute(int type, string text)
    {
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(text + "\0");
        return Attribute(type, bytes);
    }

    /// <summary>The finished message with <paramref name="sequence"/>.</summary>
    public ReadOnlySpan<byte> Finish(uint sequence)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_length);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(8), sequence);
        return _buffer.AsSpan(0, _length);
    }

    public static int Align(int length) => (length + 3) & ~3;

    public static byte Family(IPAddress address) =>
        (byte)(address.AddressFamily == AddressFamily.InterNetwork ? Tmds.Linux.LibC.AF_INET : Tmds.Linux.LibC.AF_INET6);
}

/// <summary>One message of a reply: its type and flags, and its body after the nlmsghdr.</summary>
internal readonly record struct NetlinkReply(int Type, int Flags, byte[] Body)
{
    /// <summary>The message's fixed struct.</summary>
    public T Fixed<T>() where T : unmanaged => MemoryMarshal.Read<T>(Body);

    /// <summary>Every attribute after the fixed struct of <typeparamref name="T"/>, by type (the last
    /// wins); attributes whose lengths do not add up end the walk, never read past the body.</summary>
    public Dictionary<int, byte[]> Attributes<T>() where T : unmanaged => Walk(Body, NetlinkRequest.Align(Marshal.SizeOf<T>()));

    /// <summary>The attributes nested in one attribute's payload (IFLA_LINKINFO).</summary>
    public static Dictionary<int, byte[]> Nested(byte[] payload) => Walk(payload, 0);

    private static Dictionary<int, byte[]> Walk(byte[] body, int offset)
    {
        var result = new Dictionary<int, byte[]>();
        int header = Marshal.SizeOf<rtattr>();
        while (offset + header <= body.Length)
        {
            var attribute = MemoryMarshal.Read<rtattr>(body.AsSpan(offset));
            if (attribute.rta_len < header || offset + attribute.rta_len > body.Length) break;
            // The top bits flag nested and byte-order attributes; the type is below them.
            result[attribute.rta_type & 0x3FFF] = body.AsSpan(offset + header, attribute.rta_len - header).ToArray();
            offset += NetlinkRequest.Align(attribute.rta_len);
        }
        return result;
    }

    public static IPAddress? Address(Dictionary<int, byte[]> attributes, int type) =>
        attributes.TryGetValue(type, out byte[]? bytes) && bytes.Length is 4 or 16 ? new IPAddress(bytes) : null;

    public static uint? UInt32(Dictionary<int, byte[]> attributes, int type) =>
        attributes.TryGetValue(type, out byte[]? bytes) && bytes.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : null;
}

/// <summary>A request the kernel refused: the errno and, with extended acks, its own explanation.</summary>
internal sealed class NetlinkException(string what, int errno, string? kernelMessage)
    : IOException($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}){(kernelMessage is null ? "" : $": {kernelMessage}")}")
{
    public int Errno { get; } = errno;
}
