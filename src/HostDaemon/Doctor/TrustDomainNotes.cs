using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Doctor;

/// <summary>
/// A region is one trust domain: every peer maps all of its memory, so any peer can read every ring
/// of it and write the peer table, and so impersonate another (docs/ring.md, "One region, one trust
/// domain"). A region that admits more than two peers is noted, so that an operator who pairs
/// mutually distrusting VMs sees it before they share memory.
/// </summary>
internal static class TrustDomainNotes
{
    public static IEnumerable<CheckResult> For(DaemonOptions options)
    {
        foreach (RegionOptions region in options.Regions)
        {
            var peers = region.Vms.Select(vm => $"vm {vm}").Concat(region.HostUsers.Select(u => $"user {u}")).ToList();
            if (peers.Count <= 2) continue;
            yield return CheckResult.Warn("trust",
                $"region '{region.Name}' admits {peers.Count} peers ({string.Join(", ", peers)}); a region is one trust domain: each of them can read the others' rings and pass itself off as another",
                "where peers do not trust each other, give each pair a region of its own (docs/ring.md, 'One region, one trust domain')");
        }
    }
}
