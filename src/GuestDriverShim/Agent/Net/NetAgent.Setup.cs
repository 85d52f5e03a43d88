using static Ivshmem.Interop;

namespace Ivshmem.Agent.Net;

/// <summary>What net changes on this machine before it starts, and why (docs/guest.md, "What net
/// changes on the machine").</summary>
internal sealed partial class NetAgent
{
    /// <summary>
    /// A TUN device of our name that no running net holds was left behind (made persistent by hand,
    /// or an older build): it goes, with its routes. So do routes with net's protocol tag on devices no
    /// running net holds. A device of our name that is not a TUN device is someone else's: refused.
    /// </summary>
    private static void RemoveLeftovers(Rtnetlink netlink, string name, Action<string> log)
    {
        if (netlink.ListLinks().FirstOrDefault(l => l.Name == name) is { } existing)
        {
            if (existing.Kind != "tun")
                throw new ArgumentException($"a device named {name} exists and is not a TUN device (kind '{existing.Kind}'); choose another name with --tun");
            netlink.DeleteLink(existing.Index);
            log($"removed the TUN device {name} that an earlier run left behind, and its routes");
        }
        RouteKeeper.RemoveStale(netlink, StatusServer.Answers, log);
    }

    /// <summary>
    /// Configures the new device before it goes up: no IPv6 link-local address (else the kernel sends
    /// router solicitations into it), reverse-path filtering that lets packets for our addresses in
    /// through it, the MTU and the largest GSO packet the ring's records carry, a transmit queue long
    /// enough for a switch. Returns the MTU.
    /// </summary>
    private static int Configure(Rtnetlink netlink, TunDevice tun, int index, int? requestedMtu, int maxRecord, Action<string> log)
    {
        string name = tun.Name;
        // addr_gen_mode 1 (none): must be written before the device goes up.
        Sysctl.Write("ipv6", name, "addr_gen_mode", 1);
        // rp_filter: the device inherits conf/default; on it, 0 is what is needed (the effective
        // value is the larger of it and conf/all, which is not ours to change).
        if (Sysctl.Read("ipv4", name, "rp_filter") is > 0) Sysctl.Write("ipv4", name, "rp_filter", 0);
        int mtu = ApplyMtu(netlink, name, index, requestedMtu, maxRecord, log);
        netlink.SetUp(index);
        switch (Sysctl.Read("ipv4", "all", "rp_filter"))
        {
            case 2:
                netlink.AddAddress(index, LooseFilterAddress, 32, RT_SCOPE_LINK);
                log($"net.ipv4.conf.all.rp_filter is 2 (loose), which drops packets arriving on a device without an IPv4 address: gave {name} {LooseFilterAddress}/32 (scope link)");
                break;
            case 1:
                log("net.ipv4.conf.all.rp_filter is 1 (strict): packets in flight while routes change are dropped (TCP sends them again); 0 or 2 avoid that");
                break;
        }
        return mtu;
    }

    /// <summary>The MTU (<paramref name="requestedMtu"/>, or the largest a ring record carries) and,
    /// when a record is smaller than 64 KiB, the largest GSO packet. Returns the MTU.</summary>
    private static int ApplyMtu(Rtnetlink netlink, string name, int index, int? requestedMtu, int maxRecord, Action<string> log)
    {
        int largest = Math.Min(65535, maxRecord - VirtioNetHdrSize);
        int mtu = requestedMtu ?? largest;
        if (mtu > largest)
        {
            log($"--mtu {mtu} is more than a ring record carries; using {largest}");
            mtu = largest;
        }
        netlink.SetMtuAndQueue(index, mtu, TxQueueLength);
        if (largest < 65536)
        {
            int errno = netlink.SetGsoMaxSize(index, largest, out string? message);
            if (errno != 0)
                log($"cannot limit GSO packets on {name} to the ring's {largest} bytes ({System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}{(message is null ? "" : ": " + message)}); larger ones are dropped");
        }
        return mtu;
    }

    /// <summary>A device that comes later may belong to a region with smaller records: the TUN
    /// device (kept across devices) follows it.</summary>
    private void FitMtu(int maxRecord)
    {
        int largest = Math.Min(65535, maxRecord - VirtioNetHdrSize);
        if (Math.Min(_options.Mtu ?? largest, largest) == Mtu) return;
        Mtu = ApplyMtu(_netlink, _tun.Name, _tunIndex, _options.Mtu, maxRecord, _log);
        _log($"{_tun.Name}: mtu {Mtu} for this region's records");
    }
}
