using System.Net;
using System.Runtime.InteropServices;
using static Ivshmem.Interop;

namespace Ivshmem.Agent.Net;

/// <summary>Which of a peer's announced addresses get routes (docs/guest.md, "What a peer
/// may announce").</summary>
internal sealed partial class NetAgent
{
    /// <summary>Checks every peer's last announcement again (our addresses changed, or a peer that
    /// held an address left).</summary>
    private void ScreenAll()
    {
        foreach (PeerLink link in Plane.Links)
            if (!link.Retired && link.Announcement is { } announcement) Screen(link, announcement);
    }

    /// <summary>
    /// Splits an announcement into the addresses that get routes and the ones refused (each with its
    /// reason), publishes the accepted ones as the sources the peer's packets may carry, and logs the
    /// outcome when it differs from the last one (a peer repeats its announcement until we accept it).
    /// </summary>
    private void Screen(PeerLink link, PeerAnnouncement announcement)
    {
        link.RetryAt = 0;
        var accepted = new List<IPAddress>();
        var refused = new List<string>();
        if (announcement.Error is null)
        {
            foreach (IPAddress address in announcement.Addresses.Distinct())
            {
                string? why = AddressScreen.Refusal(address) ?? MachineRefusal(link, address);
                if (why is null) accepted.Add(address);
                else refused.Add($"{address}: {why}");
            }
        }
        link.Accepted = accepted;
        link.Refused = refused;
        link.AcceptedSources = accepted.Select(IpKey.Of).ToHashSet();
        Volatile.Write(ref link.AcceptedInstance, accepted.Count > 0 ? (long)announcement.Instance : 0);
        string outcome = announcement.Error is { } error
            ? $"peer {link.Label} sent an announcement that is refused: {error}"
            : $"peer {link.Label} runs net and announced {Describe(announcement.Addresses)}" +
              (refused.Count == 0 ? "" : $"; no route to {string.Join("; ", refused)}");
        if (outcome == link.ScreenOutcome) return;
        link.ScreenOutcome = outcome;
        _log(outcome);
    }

    /// <summary>Why this machine cannot route <paramref name="address"/> to the peer, or null: it is
    /// one of ours, another peer has it, or the kernel does not send to it as a unicast address over
    /// the normal network (a peer may only take over addresses this machine reaches already).</summary>
    private string? MachineRefusal(PeerLink link, IPAddress address)
    {
        if (_allLocal.Contains(address)) return "one of this machine's own addresses";
        PeerLink? owner = Plane.Links.FirstOrDefault(l => l != link && !l.Retired && l.Accepted.Contains(address));
        if (owner is not null) return $"peer {owner.Label} announced it first";
        RouteLookup? route = _netlink.Lookup(address, out int errno);
        if (route is null) return $"this machine has no route to it ({Marshal.GetPInvokeErrorMessage(errno)})";
        if (route.OutputIndex == _tunIndex) return null;
        return route.Type switch
        {
            RTN_UNICAST => null,
            RTN_LOCAL => "one of this machine's own addresses",
            RTN_BROADCAST => "a broadcast address of a network this machine is on",
            RTN_MULTICAST => "a multicast address",
            _ => $"the kernel routes it as type {route.Type}, not as a unicast address (unreachable, prohibited or blackholed)",
        };
    }
}
