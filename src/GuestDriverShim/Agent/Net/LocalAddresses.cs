using System.Net;
using System.Net.Sockets;
using static Ivshmem.Interop;

namespace Ivshmem.Agent.Net;

/// <summary>
/// This machine's addresses as net sees them: all of them (a peer must not announce one), and the
/// ones it announces by default: every address of every interface except loopback, link-local and
/// host-scoped ones, ones still being checked for duplicates, and the TUN device's own.
/// </summary>
internal static class LocalAddresses
{
    /// <summary>Every address of every interface.</summary>
    public static HashSet<IPAddress> All(Rtnetlink netlink) => netlink.ListAddresses().Select(a => a.Address).ToHashSet();

    /// <summary>What to announce when --address is not given, IPv4 first, at most
    /// <see cref="NetRecords.MaxAddresses"/> (the rest are left out, with a note).</summary>
    public static List<IPAddress> ToAnnounce(Rtnetlink netlink, int tunIndex, Action<string> note)
    {
        HashSet<int> loopback = netlink.ListLinks().Where(l => (l.Flags & IFF_LOOPBACK) != 0).Select(l => l.Index).ToHashSet();
        List<IPAddress> addresses = netlink.ListAddresses()
            .Where(a => a.Index != tunIndex && !loopback.Contains(a.Index) && a.Scope == RT_SCOPE_UNIVERSE
                && (a.Flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) == 0 && AddressScreen.Refusal(a.Address) is null)
            .Select(a => a.Address)
            .Distinct()
            .OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1)
            .ToList();
        if (addresses.Count > NetRecords.MaxAddresses)
        {
            note($"this machine has {addresses.Count} addresses; announcing the first {NetRecords.MaxAddresses} (give the ones to use with --address)");
            addresses = addresses.Take(NetRecords.MaxAddresses).ToList();
        }
        return addresses;
    }

    /// <summary>Checks --address values: each must be an address of this machine that a peer could
    /// route to; returns them, or throws saying which is not.</summary>
    public static List<IPAddress> Given(IReadOnlyList<IPAddress> given, Rtnetlink netlink)
    {
        if (given.Count > NetRecords.MaxAddresses)
            throw new ArgumentException($"--address was given {given.Count} times; at most {NetRecords.MaxAddresses} addresses are announced");
        HashSet<IPAddress> all = All(netlink);
        foreach (IPAddress address in given)
        {
            if (AddressScreen.Refusal(address) is { } why) throw new ArgumentException($"--address {address}: {why}");
            if (!all.Contains(address)) throw new ArgumentException($"--address {address} is not an address of this machine ('ip address' lists them)");
        }
        return given.Distinct().ToList();
    }
}
