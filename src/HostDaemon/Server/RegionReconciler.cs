using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// The reload diff: brings the served regions in line with a new configuration (systemctl reload),
/// and finishes the changes that had to wait for a region's peers to leave. Loop thread only.
/// </summary>
internal sealed class RegionReconciler(RegionSet regions, ILogger log)
{
    /// <summary>
    /// New regions appear; removed regions without peers go away, removed regions with peers stop
    /// accepting and go when the last peer leaves; changed regions without peers are re-created, with
    /// peers they are left untouched until the peers have gone. Regions that could not be created are
    /// listed in <see cref="ReloadOutcome.Failed"/>.
    /// </summary>
    public ReloadOutcome Apply(DaemonOptions current, DaemonOptions next)
    {
        var added = new List<string>();
        var removed = new List<string>();
        var retiring = new List<string>();
        var replaced = new List<string>();
        var deferred = new List<string>();
        var failed = new List<string>();
        if (next.ControlSocketPath != current.ControlSocketPath || next.RuntimeDirectory != current.RuntimeDirectory
            || next.StateDirectoryPath != current.StateDirectoryPath)
            log.ReloadNeedsRestart("runtime_directory, state_directory and control_socket");
        if (next.Metrics != current.Metrics)
            log.ReloadNeedsRestart("metrics");
        if (next.Libvirt != current.Libvirt)
            log.ReloadNeedsRestart("libvirt");

        var wanted = next.Regions.ToDictionary(r => r.Name, StringComparer.Ordinal);
        foreach (ServedRegion region in regions.All.ToList())
        {
            if (!wanted.TryGetValue(region.Name, out RegionOptions? options))
            {
                if (region.Retiring) continue;
                if (region.PeerCount == 0)
                {
                    regions.Discard(region, unlinkSocket: true);
                    removed.Add(region.Name);
                    log.RegionRemoved(region.Name, "it is no longer in the configuration");
                }
                else
                {
                    region.PendingOptions = null;
                    region.Retire();
                    retiring.Add(region.Name);
                    log.RegionRetiring(region.Name, region.PeerCount);
                }
                continue;
            }
            if (region.Retiring)
            {
                // Back in the configuration while its old peers are still there: it cannot listen
                // again on the same path under the old memory and the new rules at once; it becomes
                // a pending replacement.
                region.PendingOptions = options;
                deferred.Add(region.Name);
                continue;
            }
            if (options.Equals(region.Options))
            {
                region.PendingOptions = null;
                continue;
            }
            if (region.PeerCount > 0)
            {
                region.PendingOptions = options;
                deferred.Add(region.Name);
                log.RegionChangeDeferred(region.Name, region.PeerCount);
                continue;
            }
            regions.Discard(region, unlinkSocket: true);
            if (TryOpen(options, failed))
            {
                replaced.Add(options.Name);
                log.RegionReplaced(options.Name, "the configuration changed it and it had no peers");
            }
        }
        foreach (RegionOptions region in next.Regions)
        {
            if (regions.Contains(region.Name)) continue;
            if (TryOpen(region, failed))
            {
                added.Add(region.Name);
                log.RegionAdded(region.Name);
            }
        }
        return new ReloadOutcome(added, removed, retiring, replaced, deferred, failed);
    }

    /// <summary>A retiring or changed region lost its last peer: closes it, and re-creates it when the
    /// configuration still has it (changed options apply now). False when there was nothing to do: the
    /// region was already replaced, or has peers again.</summary>
    public bool FinishEmptied(ServedRegion region)
    {
        if (!regions.TryGet(region.Name, out ServedRegion current) || current != region || region.PeerCount > 0) return false;
        RegionOptions? replacement = region.PendingOptions;
        bool wasRetiring = region.Retiring;
        regions.Discard(region, unlinkSocket: !wasRetiring);
        if (replacement is not null)
        {
            if (TryOpen(replacement, failed: null))
                log.RegionReplaced(replacement.Name, "its last peer left; the changed configuration applies now");
        }
        else
        {
            log.RegionRemoved(region.Name, "its last peer left after the region was removed from the configuration");
        }
        return true;
    }

    /// <summary>Opens a region after start-up (reload, or a deferred change) and serves it; when it
    /// cannot be set up, logs why, adds it to <paramref name="failed"/> and returns false.</summary>
    private bool TryOpen(RegionOptions options, List<string>? failed)
    {
        try
        {
            regions.Open(options, RestoredFds.None);
            return true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            failed?.Add($"{options.Name}: {e.Message}");
            log.RegionFailed(options.Name, e.Message);
            return false;
        }
    }
}
