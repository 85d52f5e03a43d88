using System.Net;
using System.Net.Sockets;

namespace Ivshmem.Agent.Net;

/// <summary>
/// Which announced addresses can never be a peer's own: a peer that announces one gets no route to it,
/// and the log says why. These are the checks that need nothing but the address; the agent adds those
/// that need the machine (one of our own addresses, one another peer announced first, one the kernel
/// does not route as a unicast address over the normal network: <see cref="NetAgent"/>).
/// </summary>
internal static class AddressScreen
{
    /// <summary>Why <paramref name="address"/> cannot be a peer's, or null when it may be.</summary>
    public static string? Refusal(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return b[0] switch
            {
                0 => "an unspecified address (0.0.0.0/8)",
                127 => "a loopback address",
                >= 224 and < 240 => "a multicast address",
                255 when b[1] == 255 && b[2] == 255 && b[3] == 255 => "the broadcast address",
                >= 240 => "a reserved address (240.0.0.0/4)",
                169 when b[1] == 254 => "a link-local address (169.254.0.0/16), which is not routed",
                _ => null,
            };
        }
        if (address.Equals(IPAddress.IPv6None)) return "the unspecified address (::)";
        if (address.Equals(IPAddress.IPv6Loopback)) return "the loopback address";
        if (address.IsIPv6Multicast) return "a multicast address";
        if (address.IsIPv6LinkLocal) return "a link-local address (fe80::/10), which is not routed";
        if (address.IsIPv4MappedToIPv6) return "an IPv4-mapped address (::ffff:0:0/96); announce the IPv4 address itself";
        return null;
    }
}
