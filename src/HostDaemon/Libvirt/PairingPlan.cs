using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>
/// The follower's rule, apart from libvirt (docs/libvirt.md, "Following domains"): a domain listed in a
/// region's <c>vms</c> gets that region's device when at least one other domain of the region runs on
/// this host too; a domain whose partners are all elsewhere is left without one (its device would only
/// block its migration). Host users do not count as partners: they come and go on their own.
/// </summary>
internal static class PairingPlan
{
    /// <summary>One region for one domain.</summary>
    internal readonly record struct Placement(RegionOptions Region, string Domain, IReadOnlyList<string> Partners);

    /// <summary>What each region means for the domains running here: those to attach (with the partners
    /// that justify it) and those left alone.</summary>
    public static (IReadOnlyList<Placement> Attach, IReadOnlyList<Placement> Alone) For(IEnumerable<RegionOptions> regions, IReadOnlySet<string> running)
    {
        var attach = new List<Placement>();
        var alone = new List<Placement>();
        foreach (RegionOptions region in regions)
        {
            List<string> here = region.Vms.Where(running.Contains).Distinct(StringComparer.Ordinal).ToList();
            foreach (string domain in here)
            {
                List<string> partners = here.Where(d => d != domain).ToList();
                (partners.Count > 0 ? attach : alone).Add(new Placement(region, domain, partners));
            }
        }
        return (attach, alone);
    }
}
