using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ivshmem.Agent.Net;

/// <summary>
/// The host routes net installs: one /32 or /128 per accepted peer address, through the TUN device,
/// scope link, with the source address this side's connections to it use, tagged with
/// <see cref="ProtocolTag"/> so that net's routes (and only they) can be found again, e.g. after a
/// crash. Every change is logged with the peer and the reason.
/// </summary>
internal sealed class RouteKeeper(Rtnetlink netlink, int tunIndex, string tunName, Action<string> log)
{
    /// <summary>The routing protocol number of net's routes ('proto 73' in 'ip route'): above
    /// RTPROT_STATIC the kernel does not interpret it, and iproute2 and the kernel's list name no
    /// protocol 73.</summary>
    public const int ProtocolTag = 73;

    /// <summary>Installs the route to <paramref name="destination"/>; false (logged) when the kernel
    /// refuses it.</summary>
    public bool Add(PeerLink link, IPAddress destination, IPAddress? source, string reason)
    {
        var route = new InstalledRoute(destination, source);
        int errno = netlink.AddHostRoute(destination, tunIndex, source, ProtocolTag, out string? message);
        if (errno == 0)
        {
            link.Routes[destination] = route;
            log($"route {route} dev {tunName} added for peer {link.Label}: {reason}");
            return true;
        }
        log($"route {route} dev {tunName} for peer {link.Label} not added: {Describe(errno, message)}" +
            (errno == Interop.EEXIST ? " (a route to that address exists already and is not net's; it is left alone)" : ""));
        return false;
    }

    /// <summary>Removes every route of <paramref name="link"/>.</summary>
    public void RemoveAll(PeerLink link, string reason)
    {
        foreach (IPAddress destination in link.Routes.Keys.ToList()) Remove(link, destination, reason);
    }

    public void Remove(PeerLink link, IPAddress destination, string reason)
    {
        if (!link.Routes.Remove(destination, out InstalledRoute? route)) return;
        int errno = netlink.DeleteHostRoute(destination, Bits(destination), tunIndex, ProtocolTag, out string? message);
        if (errno == 0) log($"route {route} dev {tunName} removed for peer {link.Label}: {reason}");
        else if (errno == Interop.ESRCH) log($"route {route} dev {tunName} of peer {link.Label} was gone already ({reason}); the kernel removed it");
        else log($"route {route} dev {tunName} of peer {link.Label} could not be removed ({reason}): {Describe(errno, message)}");
    }

    /// <summary>
    /// Removes net's routes left behind by an earlier run: every route tagged <see cref="ProtocolTag"/>
    /// whose device is not held by a net that is running now (<paramref name="heldByRunningNet"/>, by
    /// device name). A crash leaves none (the kernel removes a TUN device's routes with it), but a
    /// device made persistent by hand, or a route copied by hand, would blackhole traffic.
    /// </summary>
    public static void RemoveStale(Rtnetlink netlink, Func<string, bool> heldByRunningNet, Action<string> log)
    {
        Dictionary<int, string> names = netlink.ListLinks().ToDictionary(l => l.Index, l => l.Name);
        foreach (KernelRoute route in netlink.ListRoutes())
        {
            if (route.Protocol != ProtocolTag || route.Destination is null) continue;
            string device = names.GetValueOrDefault(route.OutputIndex, $"index {route.OutputIndex}");
            if (heldByRunningNet(device)) continue;
            int errno = netlink.DeleteHostRoute(route.Destination, route.PrefixLength, route.OutputIndex, ProtocolTag, out string? message);
            log(errno == 0
                ? $"route {route.Destination}/{route.PrefixLength} dev {device} (proto {ProtocolTag}) removed: left behind by an earlier run"
                : $"stale route {route.Destination}/{route.PrefixLength} dev {device} could not be removed: {Describe(errno, message)}");
        }
    }

    private static int Bits(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    private static string Describe(int errno, string? message) =>
        $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}){(message is null ? "" : ": " + message)}";
}
