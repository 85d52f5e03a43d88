using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ivshmem.Agent.Net;

/// <summary>
/// An IP address as one 128-bit number, for the packet path: IPv6 as it is, IPv4 as its IPv4-mapped
/// IPv6 form (::ffff:a.b.c.d, an address <see cref="AddressScreen"/> never accepts from a peer, so the
/// two families cannot collide). Looking one up in a dictionary allocates nothing.
/// </summary>
internal static class IpKey
{
    private const int Ipv4HeaderSize = 20;
    private const int Ipv6HeaderSize = 40;
    private static readonly UInt128 MappedPrefix = (UInt128)0xFFFF << 32;

    public static UInt128 Of(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            return MappedPrefix | BinaryPrimitives.ReadUInt32BigEndian(bytes);
        }
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    /// <summary>Source and destination of the IP packet <paramref name="ip"/> (no virtio header);
    /// false when it is neither a whole IPv4 nor a whole IPv6 header.</summary>
    public static bool TryRead(ReadOnlySpan<byte> ip, out UInt128 source, out UInt128 destination)
    {
        if (ip.Length >= Ipv4HeaderSize && ip[0] >> 4 == 4)
        {
            source = MappedPrefix | BinaryPrimitives.ReadUInt32BigEndian(ip[12..]);
            destination = MappedPrefix | BinaryPrimitives.ReadUInt32BigEndian(ip[16..]);
            return true;
        }
        if (ip.Length >= Ipv6HeaderSize && ip[0] >> 4 == 6)
        {
            source = BinaryPrimitives.ReadUInt128BigEndian(ip[8..]);
            destination = BinaryPrimitives.ReadUInt128BigEndian(ip[24..]);
            return true;
        }
        source = destination = 0;
        return false;
    }
}
