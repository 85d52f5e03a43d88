using System.Diagnostics;
using System.Threading.Channels;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Vm;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static Ivshmem.Daemon.Libvirt.LibvirtNative;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>
/// Follows libvirt's domains (<c>libvirt: {follow: true}</c>; docs/libvirt.md, "Following domains"):
/// when a paired domain starts here or arrives by migration, every region it shares with a domain
/// that runs here too gets its device into both (<see cref="PairingPlan"/>). libvirt's callbacks only
/// queue events; one task handles them in order, so the event loop thread never waits for an attach.
/// A broken or missing libvirtd is logged and retried; nothing here stops the daemon.
/// </summary>
internal sealed class LibvirtFollower : BackgroundService
{
    private readonly LibvirtOptions _options;
    private readonly Func<IReadOnlyList<RegionOptions>> _regions;
    private readonly ILogger _log;
    private readonly Channel<FollowerEvent> _events = Channel.CreateUnbounded<FollowerEvent>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>QEMU processes that had an ivshmem device removed: never attach into them again
    /// (QEMU 7.2 crashes; docs/libvirt.md, "Never twice into one QEMU"). Seen here through libvirt's
    /// events; <see cref="_lostElsewhere"/> asks the daemon's own record, which also knows removals by
    /// 'ivshmemd detach' or from before a restart.</summary>
    private readonly HashSet<int> _lostDevice = [];
    private readonly Func<int, bool> _lostElsewhere;
    private readonly HashSet<(string Region, string Domain)> _reportedAlone = [];
    private int _generation;

    /// <param name="lostDevice">Whether the daemon knows the QEMU process with this pid to have lost an
    /// ivshmem device (its connection to a region ended while it ran on: docs/migration.md,
    /// "Re-attaching into the same QEMU process"); null: only what this follower sees.</param>
    public LibvirtFollower(LibvirtOptions options, Func<IReadOnlyList<RegionOptions>> regions, ILogger logger, Func<int, bool>? lostDevice = null)
    {
        _options = options;
        _regions = regions;
        _log = logger;
        _lostElsewhere = lostDevice ?? (_ => false);
    }

    /// <summary>Time between two connection attempts while libvirt cannot be reached.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try { LibvirtNative.Require(); }
        catch (LibvirtException e)
        {
            _log.LibvirtUnavailable(e.Message);
            return;
        }
        LibvirtConnection.HandlerFailed += OnHandlerFailed;
        try { await FollowAsync(stoppingToken).ConfigureAwait(false); }
        finally { LibvirtConnection.HandlerFailed -= OnHandlerFailed; }
    }

    private void OnHandlerFailed(Exception e) => _log.LibvirtFollowerFailed($"a libvirt callback failed: {e.Message}");

    /// <summary>Connects, handles events until the connection closes, and connects again, until the daemon stops.</summary>
    private async Task FollowAsync(CancellationToken stoppingToken)
    {
        bool reportedFailure = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            LibvirtConnection? connection = null;
            var subscriptions = new List<LibvirtConnection.Subscription>();
            try
            {
                int generation = Interlocked.Increment(ref _generation);
                connection = await Task.Run(() => LibvirtConnection.Open(_options.Uri), stoppingToken).ConfigureAwait(false);
                connection.OnClosed(reason => _events.Writer.TryWrite(new Closed(generation, reason)));
                subscriptions.Add(connection.OnLifecycle((domain, type, detail) => _events.Writer.TryWrite(new Lifecycle(domain, type, detail))));
                subscriptions.Add(connection.OnDeviceRemoved(null, (domain, alias) => _events.Writer.TryWrite(new DeviceRemoved(domain, alias))));
                _log.LibvirtConnected(_options.Uri);
                reportedFailure = false;
                // Subscribed first, then looked: a domain that starts in between is seen twice, never missed.
                _events.Writer.TryWrite(new Reconcile());
                string? lost = await HandleEventsAsync(connection, generation, stoppingToken).ConfigureAwait(false);
                if (lost is not null) _log.LibvirtConnectionLost(_options.Uri, lost);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (LibvirtException e)
            {
                // Once per outage as a warning: a libvirtd that is down for an hour must not fill the journal.
                if (!reportedFailure) _log.LibvirtConnectFailed(e.Message, (int)Math.Ceiling(RetryDelay.TotalSeconds));
                reportedFailure = true;
            }
            catch (Exception e)
            {
                _log.LibvirtFollowerFailed(e.Message);
            }
            finally
            {
                foreach (var s in subscriptions) s.Dispose();
                connection?.Dispose();
            }
            try { await Task.Delay(RetryDelay, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>Handles events until this connection closes (returns the reason) or the daemon stops.</summary>
    private async Task<string?> HandleEventsAsync(LibvirtConnection connection, int generation, CancellationToken stoppingToken)
    {
        while (true)
        {
            FollowerEvent e = await _events.Reader.ReadAsync(stoppingToken).ConfigureAwait(false);
            try
            {
                switch (e)
                {
                    case Closed closed when closed.Generation == generation:
                        return closed.Reason;
                    case Lifecycle lifecycle:
                        await OnLifecycleAsync(connection, lifecycle, stoppingToken).ConfigureAwait(false);
                        break;
                    case DeviceRemoved removed:
                        OnDeviceRemoved(removed);
                        break;
                    case Reconcile:
                        await ReconcileAsync(connection, stoppingToken).ConfigureAwait(false);
                        break;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // One event's failure (libvirt's, or XML it sent that cannot be read) must not end the
                // following: say it and take the next.
                _log.LibvirtFollowerFailed(ex.Message);
            }
        }
    }

    private async Task OnLifecycleAsync(LibvirtConnection connection, Lifecycle e, CancellationToken stoppingToken)
    {
        if (!IsConfigured(e.Domain)) return;
        _log.LibvirtLifecycle(e.Domain, LifecycleWords.Describe(e.Type, e.Detail), e.Type, e.Detail);
        if (e.Type == VIR_DOMAIN_EVENT_STOPPED)
        {
            _reportedAlone.RemoveWhere(p => p.Domain == e.Domain);
            _lostDevice.RemoveWhere(pid => !Directory.Exists($"/proc/{pid}"));
        }
        if (LifecycleWords.BringsDomainHere(e.Type, e.Detail))
            await ReconcileAsync(connection, stoppingToken).ConfigureAwait(false);
    }

    private void OnDeviceRemoved(DeviceRemoved e)
    {
        // libvirt names ivshmem devices shmem0, shmem1, ... (docs/libvirt.md, "Measured"); other
        // devices do not trigger QEMU's crash.
        if (!e.Alias.StartsWith("shmem", StringComparison.Ordinal)) return;
        int? pid = DomainQemuPid.Find(e.Domain);
        if (pid is { } p) _lostDevice.Add(p);
        _log.LibvirtDeviceRemoved(e.Domain, pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown", e.Alias);
    }

    /// <summary>Looks at every configured domain and attaches what <see cref="PairingPlan"/> says.</summary>
    private async Task ReconcileAsync(LibvirtConnection connection, CancellationToken stoppingToken)
    {
        IReadOnlyList<RegionOptions> regions = _regions();
        var running = new HashSet<string>(StringComparer.Ordinal);
        var migratingIn = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in regions.SelectMany(r => r.Vms).Distinct(StringComparer.Ordinal))
        {
            using LibvirtDomain? domain = await Task.Run(() => connection.FindDomain(name), stoppingToken).ConfigureAwait(false);
            if (domain is null || !await Task.Run(domain.IsActive, stoppingToken).ConfigureAwait(false)) continue;
            running.Add(name);
            if (await Task.Run(domain.IsMigratingIn, stoppingToken).ConfigureAwait(false)) migratingIn.Add(name);
        }

        var (attach, alone) = PairingPlan.For(regions, running);
        foreach (var placement in alone)
            if (_reportedAlone.Add((placement.Region.Name, placement.Domain)))
                _log.LibvirtAlone(placement.Region.Name, placement.Domain, string.Join(", ", placement.Region.Vms.Where(v => v != placement.Domain)));
        foreach (var placement in attach)
        {
            _reportedAlone.Remove((placement.Region.Name, placement.Domain));
            if (migratingIn.Contains(placement.Domain))
            {
                _log.LibvirtMigratingIn(placement.Region.Name, placement.Domain);
                continue;
            }
            await AttachAsync(connection, placement, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task AttachAsync(LibvirtConnection connection, PairingPlan.Placement placement, CancellationToken stoppingToken)
    {
        string region = placement.Region.Name;
        try
        {
            await using LibvirtHotplug hotplug = LibvirtHotplug.For(connection, placement.Domain);
            if (await hotplug.HasDeviceAsync(placement.Region, stoppingToken).ConfigureAwait(false)) return;
            int pid = await hotplug.QemuPidAsync(stoppingToken).ConfigureAwait(false);
            if (_lostDevice.Contains(pid) || _lostElsewhere(pid))
            {
                _log.LibvirtRefusedReattach(region, placement.Domain, pid);
                return;
            }
            long started = Stopwatch.GetTimestamp();
            await hotplug.AttachAsync(placement.Region, stoppingToken).ConfigureAwait(false);
            _log.LibvirtAttached(region, placement.Domain, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, string.Join(", ", placement.Partners));
        }
        catch (VmHotplugException e)
        {
            _log.LibvirtAttachFailed(region, placement.Domain, e.Message);
        }
    }

    private bool IsConfigured(string domain) => _regions().Any(r => r.Vms.Contains(domain, StringComparer.Ordinal));

    private abstract record FollowerEvent;
    private sealed record Lifecycle(string Domain, int Type, int Detail) : FollowerEvent;
    private sealed record DeviceRemoved(string Domain, string Alias) : FollowerEvent;
    private sealed record Closed(int Generation, string Reason) : FollowerEvent;
    private sealed record Reconcile : FollowerEvent;
}
