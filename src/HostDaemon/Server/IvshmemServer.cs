using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Server;

/// <summary>What a reload changed, region by region, and what it could not do.</summary>
public sealed record ReloadOutcome(
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<string> Retiring,
    IReadOnlyList<string> Replaced,
    IReadOnlyList<string> Deferred,
    IReadOnlyList<string> Failed)
{
    public bool Succeeded => Failed.Count == 0;
}

/// <summary>
/// The ivshmem server core: every configured region with its socket, memory and peers, served by
/// one event loop thread (QEMU's contrib/ivshmem-server split: this knows nothing of argv, signals or
/// systemd; the hosting layer does). Start, reload, stop; <see cref="Status"/> and
/// <see cref="StatusChanged"/> tell the world what is served.
/// </summary>
public sealed class IvshmemServer : IDisposable
{
    private readonly Dictionary<string, ServedRegion> _regions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastPeerIds = new(StringComparer.Ordinal);
    private readonly RestoredFds _restored;
    private Thread? _thread;
    private volatile bool _running;
    private ServerStatus _status = ServerStatus.Empty;
    private int _stopped;

    /// <param name="fdStore">Where fds wait across a restart (null: nowhere, e.g. a plain foreground run).</param>
    /// <param name="restored">What came back from the store at start-up (systemd's LISTEN_FDS).</param>
    public IvshmemServer(DaemonOptions options, ILogger logger, IFdStore? fdStore = null, RestoredFds? restored = null)
    {
        Options = options;
        Logger = logger;
        FdStore = fdStore;
        _restored = restored ?? RestoredFds.None;
        Loop = new EventLoop();
    }

    public DaemonOptions Options { get; private set; }

    public ServerStatus Status => Volatile.Read(ref _status);

    /// <summary>Raised on the loop thread after every change; handlers must be quick.</summary>
    public event Action<ServerStatus>? StatusChanged;

    internal ILogger Logger { get; }
    internal IFdStore? FdStore { get; }
    internal EventLoop Loop { get; }

    /// <summary>
    /// Creates every region (memory, peers of a previous instance, listening socket) on the calling
    /// thread, then starts the loop. All or nothing: if one region cannot be set up, the ones already
    /// made are closed again and the error says which region and why. When this returns, every
    /// socket listens.
    /// </summary>
    public void Start()
    {
        if (_thread is not null) throw new InvalidOperationException("the server is already started");
        Directory.CreateDirectory(Options.RuntimeDirectory);
        try
        {
            foreach (RegionOptions region in Options.Regions)
            {
                try { _regions.Add(region.Name, ServedRegion.Open(this, region, _restored)); }
                catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
                {
                    throw new IOException($"region '{region.Name}': {e.Message}", e);
                }
            }
        }
        catch
        {
            foreach (ServedRegion r in _regions.Values) r.Close(unlinkSocket: true);
            _regions.Clear();
            throw;
        }
        foreach (string name in _restored.CloseRemaining())
        {
            Logger.RestoredFdUnused(name);
            FdStore?.Remove(name);
        }
        PublishStatus();
        _running = true;
        _thread = new Thread(RunLoop) { Name = "ivshmemd event loop", IsBackground = true };
        _thread.Start();
        Logger.ServerStarted(_regions.Count, Status.PeerCount);
    }

    /// <summary>
    /// Applies a new configuration (systemctl reload): new regions appear; removed regions without
    /// peers go away, removed regions with peers stop accepting and go when the last peer leaves;
    /// changed regions without peers are re-created, with peers they are left untouched until the peers
    /// have gone. Regions that could not be created are listed in <see cref="ReloadOutcome.Failed"/>.
    /// </summary>
    public Task<ReloadOutcome> ApplyAsync(DaemonOptions options) => OnLoop(() => Apply(options));

    /// <summary>True when the event loop runs a posted item within <paramref name="timeout"/>: what
    /// the watchdog checks before it tells systemd all is well.</summary>
    public async Task<bool> IsRespondingAsync(TimeSpan timeout)
    {
        if (!_running) return false;
        Task<bool> ping = OnLoop(() => true);
        return await Task.WhenAny(ping, Task.Delay(timeout)).ConfigureAwait(false) == ping && ping.IsCompletedSuccessfully;
    }

    /// <summary>
    /// Stops cleanly: no new connections (socket files removed), pending messages flushed for at most
    /// <paramref name="flushTimeout"/>, then every connection closed. Peers are not told that the others
    /// left, because they have not: their VMs keep the memory and doorbells (docs/protocol.md).
    /// </summary>
    public async Task StopAsync(TimeSpan flushTimeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0 || _thread is null) return;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Loop.Post(() =>
        {
            Logger.ServerStopping(Status.PeerCount);
            foreach (ServedRegion r in _regions.Values) r.StopListening(unlink: true);
            long deadline = Environment.TickCount64 + (long)flushTimeout.TotalMilliseconds;
            FlushThenClose(deadline, done);
        });
        await done.Task.ConfigureAwait(false);
        _thread.Join();
        Loop.Dispose();
    }

    /// <summary>
    /// Stops as if the process had been killed: nothing is sent, nothing is removed, no socket file is
    /// unlinked; only this process's own fds are closed. For tests of the restart path in-process.
    /// </summary>
    internal async Task AbandonAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0 || _thread is null) return;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Loop.Post(() =>
        {
            foreach (ServedRegion r in _regions.Values) r.Close(unlinkSocket: false);
            _regions.Clear();
            _running = false;
            done.SetResult();
        });
        await done.Task.ConfigureAwait(false);
        _thread.Join();
        Loop.Dispose();
    }

    /// <summary>The next peer id of a region of this name that was closed earlier in this run (0 if none).</summary>
    internal long LastPeerIdOf(string region) => _lastPeerIds.GetValueOrDefault(region);

    internal void RememberLastPeerId(string region, long nextPeerId) =>
        _lastPeerIds[region] = Math.Max(nextPeerId, _lastPeerIds.GetValueOrDefault(region));

    /// <summary>For testing: sets a region's next peer id (the ledger's counter), so the end of the id
    /// space can be reached without 65536 connections.</summary>
    internal Task SetNextPeerIdAsync(string region, long next) => OnLoop(() =>
    {
        _regions[region].Ledger.NextPeerId = next;
        return true;
    });

    public void Dispose()
    {
        if (_thread is null)
        {
            Loop.Dispose();
            return;
        }
        StopAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
    }

    /// <summary>Publishes a new <see cref="Status"/>. After a join or leave only that region's part is
    /// rebuilt (<paramref name="changed"/>); the others are reused, so a busy region among many costs
    /// little.</summary>
    internal void PublishStatus(ServedRegion? changed = null)
    {
        ServerStatus previous = Status;
        List<RegionStatus> regions;
        if (changed is not null && previous.Regions.Count == _regions.Count && previous.Regions.Any(r => r.Name == changed.Name))
        {
            regions = new List<RegionStatus>(previous.Regions.Count);
            foreach (RegionStatus r in previous.Regions) regions.Add(r.Name == changed.Name ? changed.BuildStatus() : r);
        }
        else
        {
            var order = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < Options.Regions.Count; i++) order[Options.Regions[i].Name] = i;
            regions = _regions.Values
                .OrderBy(r => order.TryGetValue(r.Name, out int i) ? i : int.MaxValue)
                .ThenBy(r => r.Name, StringComparer.Ordinal)
                .Select(r => r.BuildStatus())
                .ToList();
        }
        var status = new ServerStatus(regions);
        Volatile.Write(ref _status, status);
        StatusChanged?.Invoke(status);
    }

    /// <summary>A retiring or changed region lost its last peer: close it, and re-create it when the
    /// configuration still has it (changed options apply now).</summary>
    internal void OnRegionEmpty(ServedRegion region)
    {
        Loop.Post(() =>
        {
            if (!_regions.TryGetValue(region.Name, out ServedRegion? current) || current != region || region.PeerCount > 0) return;
            RegionOptions? replacement = region.PendingOptions;
            bool wasRetiring = region.Retiring;
            Discard(region, unlinkSocket: !wasRetiring);
            if (replacement is not null)
            {
                if (TryOpen(replacement, failed: null))
                    Logger.RegionReplaced(replacement.Name, "its last peer left; the changed configuration applies now");
            }
            else
            {
                Logger.RegionRemoved(region.Name, "its last peer left after the region was removed from the configuration");
            }
            PublishStatus();
        });
    }

    private ReloadOutcome Apply(DaemonOptions options)
    {
        var added = new List<string>();
        var removed = new List<string>();
        var retiring = new List<string>();
        var replaced = new List<string>();
        var deferred = new List<string>();
        var failed = new List<string>();
        if (options.ControlSocketPath != Options.ControlSocketPath || options.RuntimeDirectory != Options.RuntimeDirectory)
            Logger.ReloadNeedsRestart("runtime_directory and control_socket");

        var wanted = options.Regions.ToDictionary(r => r.Name, StringComparer.Ordinal);
        foreach (ServedRegion region in _regions.Values.ToList())
        {
            if (!wanted.TryGetValue(region.Name, out RegionOptions? next))
            {
                if (region.Retiring) continue;
                if (region.PeerCount == 0)
                {
                    Discard(region, unlinkSocket: true);
                    removed.Add(region.Name);
                    Logger.RegionRemoved(region.Name, "it is no longer in the configuration");
                }
                else
                {
                    region.PendingOptions = null;
                    region.Retire();
                    retiring.Add(region.Name);
                    Logger.RegionRetiring(region.Name, region.PeerCount);
                }
                continue;
            }
            if (region.Retiring)
            {
                // Back in the configuration while its old peers are still there: it cannot listen
                // again on the same path under the old memory and the new rules at once; it becomes
                // a pending replacement.
                region.PendingOptions = next;
                deferred.Add(region.Name);
                continue;
            }
            if (next.Equals(region.Options))
            {
                region.PendingOptions = null;
                continue;
            }
            if (region.PeerCount > 0)
            {
                region.PendingOptions = next;
                deferred.Add(region.Name);
                Logger.RegionChangeDeferred(region.Name, region.PeerCount);
                continue;
            }
            Discard(region, unlinkSocket: true);
            if (TryOpen(next, failed))
            {
                replaced.Add(next.Name);
                Logger.RegionReplaced(next.Name, "the configuration changed it and it had no peers");
            }
        }
        foreach (RegionOptions region in options.Regions)
        {
            if (_regions.ContainsKey(region.Name)) continue;
            if (TryOpen(region, failed))
            {
                added.Add(region.Name);
                Logger.RegionAdded(region.Name);
            }
        }
        Options = options with { RuntimeDirectory = Options.RuntimeDirectory, ControlSocketPath = Options.ControlSocketPath };
        PublishStatus();
        return new ReloadOutcome(added, removed, retiring, replaced, deferred, failed);
    }

    /// <summary>Opens a region after start-up (reload, or a deferred change) and serves it; when it
    /// cannot be set up, logs why, adds it to <paramref name="failed"/> and returns false.</summary>
    private bool TryOpen(RegionOptions options, List<string>? failed)
    {
        try
        {
            _regions.Add(options.Name, ServedRegion.Open(this, options, RestoredFds.None));
            return true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            failed?.Add($"{options.Name}: {e.Message}");
            Logger.RegionFailed(options.Name, e.Message);
            return false;
        }
    }

    /// <summary>Ends a region for good (removed, or about to be re-created): out of the table and the
    /// fd store, closed.</summary>
    private void Discard(ServedRegion region, bool unlinkSocket)
    {
        _regions.Remove(region.Name);
        region.ForgetStoredFds();
        region.Close(unlinkSocket);
    }

    private void FlushThenClose(long deadline, TaskCompletionSource done)
    {
        bool flushed = true;
        foreach (ServedRegion r in _regions.Values) flushed &= r.Flush();
        if (!flushed && Environment.TickCount64 < deadline)
        {
            Loop.Schedule(TimeSpan.FromMilliseconds(10), () => FlushThenClose(deadline, done));
            return;
        }
        if (!flushed) Logger.FlushIncomplete();
        foreach (ServedRegion r in _regions.Values) r.Close(unlinkSocket: true);
        _regions.Clear();
        _running = false;
        Logger.ServerStopped();
        done.SetResult();
    }

    private Task<T> OnLoop<T>(Func<T> work)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_running)
        {
            tcs.SetException(new InvalidOperationException("the server is not running"));
            return tcs.Task;
        }
        Loop.Post(() =>
        {
            try { tcs.SetResult(work()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        return tcs.Task;
    }

    private void RunLoop()
    {
        Loop.Run(() => _running, e => Logger.LoopHandlerFailed(e));
    }
}
