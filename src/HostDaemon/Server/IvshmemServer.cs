using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// The ivshmem server core: every configured region with its socket, memory and peers, served by
/// one event loop thread (QEMU's contrib/ivshmem-server split: this knows nothing of argv, signals or
/// systemd; the hosting layer does). This is the lifecycle: start, reload, stop, on the loop thread
/// it owns; <see cref="Status"/> and <see cref="StatusChanged"/> tell the world what is served. What a
/// reload changes is <see cref="RegionReconciler"/>'s; each region is a <see cref="ServedRegion"/>.
/// </summary>
public sealed partial class IvshmemServer : IDisposable
{
    /// <summary>How often the files peers reach the daemon by are checked (<see cref="CheckFiles"/>).</summary>
    internal static readonly TimeSpan FileCheckInterval = TimeSpan.FromSeconds(2);

    private readonly ILogger _log;
    private readonly IFdStore? _fdStore;
    private readonly EventLoop _loop;
    private readonly RegionSet _regions;
    private readonly RegionReconciler _reconciler;
    private readonly RestoredFds _restored;
    private readonly RingSampler _sampler = new(RingSampler.DefaultInterval);
    private readonly PeerIdStore _peerIdStore;
    private readonly UnpluggedQemuRegistry _unplugged;
    private Thread? _thread;
    private volatile bool _running;
    private ServerStatus _status = ServerStatus.Empty;
    private int _stopped;

    /// <param name="fdStore">Where fds wait across a restart (null: nowhere, e.g. a plain foreground run).</param>
    /// <param name="restored">What came back from the store at start-up (systemd's LISTEN_FDS).</param>
    public IvshmemServer(DaemonOptions options, ILogger logger, IFdStore? fdStore = null, RestoredFds? restored = null)
    {
        Options = options;
        _log = logger;
        _fdStore = fdStore;
        _restored = restored ?? RestoredFds.None;
        _loop = new EventLoop();
        _peerIdStore = new PeerIdStore(options.StateDirectoryPath);
        _unplugged = new UnpluggedQemuRegistry(options.StateDirectoryPath, logger);
        var context = new RegionContext(_loop, logger, fdStore, new PeerIdHistory(), _peerIdStore, _unplugged, PublishStatus, OnRegionEmpty);
        _regions = new RegionSet(context);
        _reconciler = new RegionReconciler(_regions, logger);
    }

    public DaemonOptions Options { get; private set; }

    /// <summary>Where each region's next peer id is kept (docs/protocol.md, "Peer ids").</summary>
    public string StateDirectory => _peerIdStore.Directory;

    public ServerStatus Status => Volatile.Read(ref _status);

    /// <summary>The QEMU processes that lost an ivshmem device and still run: <c>ivshmemd attach</c>
    /// refuses to add one to them (docs/migration.md, "Re-attaching into the same QEMU process").
    /// Any thread.</summary>
    public IReadOnlyList<UnpluggedQemu> UnpluggedQemu => _unplugged.Current();

    /// <summary>The rings' positions as last sampled (every second, on the loop thread): what status
    /// and the metrics show of the data plane.</summary>
    public RingSnapshot Rings => _sampler.Latest;

    /// <summary>Raised on the loop thread after every change; handlers must be quick.</summary>
    public event Action<ServerStatus>? StatusChanged;

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
        try { _peerIdStore.Prepare(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"the state directory {_peerIdStore.Directory} (state_directory), where each region's next peer id is kept, cannot be created: {e.Message}", e);
        }
        _unplugged.Load();
        try
        {
            foreach (RegionOptions region in Options.Regions)
            {
                try { _regions.Open(region, _restored); }
                catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
                {
                    throw new IOException($"region '{region.Name}': {e.Message}", e);
                }
            }
        }
        catch
        {
            _regions.CloseAll(unlinkSocket: true);
            throw;
        }
        foreach (string name in _restored.CloseRemaining())
        {
            _log.RestoredFdUnused(name);
            _fdStore?.Remove(name);
        }
        PublishStatus();
        SampleRings(); // before the thread starts: the loop is not running yet, Schedule is safe here
        _loop.Schedule(FileCheckInterval, CheckFiles);
        _running = true;
        _thread = new Thread(RunLoop) { Name = "ivshmemd event loop", IsBackground = true };
        _thread.Start();
        _log.ServerStarted(_regions.Count, Status.PeerCount);
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
        _loop.Post(() =>
        {
            _log.ServerStopping(Status.PeerCount);
            foreach (ServedRegion r in _regions.All) r.StopListening(unlink: true);
            long deadline = Environment.TickCount64 + (long)flushTimeout.TotalMilliseconds;
            FlushThenClose(deadline, done);
        });
        await done.Task.ConfigureAwait(false);
        _thread.Join();
        _loop.Dispose();
    }

    public void Dispose()
    {
        if (_thread is null)
        {
            _loop.Dispose();
            return;
        }
        StopAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
    }

    /// <summary>Publishes a new <see cref="Status"/>. After a join or leave only that region's part is
    /// rebuilt (<paramref name="changed"/>); the others are reused, so a busy region among many costs
    /// little.</summary>
    private void PublishStatus(ServedRegion? changed = null)
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
            regions = _regions.All
                .OrderBy(r => order.TryGetValue(r.Name, out int i) ? i : int.MaxValue)
                .ThenBy(r => r.Name, StringComparer.Ordinal)
                .Select(r => r.BuildStatus())
                .ToList();
        }
        var status = new ServerStatus(regions);
        Volatile.Write(ref _status, status);
        StatusChanged?.Invoke(status);
    }

    /// <summary>A retiring or changed region lost its last peer. It says so from inside its own
    /// departure handling, so the reconciler closes or re-creates it after that, as a loop item.</summary>
    private void OnRegionEmpty(ServedRegion region)
    {
        _loop.Post(() =>
        {
            if (_reconciler.FinishEmptied(region)) PublishStatus();
        });
    }

    private ReloadOutcome Apply(DaemonOptions options)
    {
        ReloadOutcome outcome = _reconciler.Apply(Options, options);
        // runtime_directory, state_directory, control_socket, metrics and libvirt change only with a
        // restart (the reconciler said so).
        Options = options with { RuntimeDirectory = Options.RuntimeDirectory, StateDirectory = Options.StateDirectory, ControlSocketPath = Options.ControlSocketPath, Metrics = Options.Metrics, Libvirt = Options.Libvirt };
        PublishStatus();
        return outcome;
    }

    private void FlushThenClose(long deadline, TaskCompletionSource done)
    {
        bool flushed = true;
        foreach (ServedRegion r in _regions.All) flushed &= r.Flush();
        if (!flushed && Environment.TickCount64 < deadline)
        {
            _loop.Schedule(TimeSpan.FromMilliseconds(10), () => FlushThenClose(deadline, done));
            return;
        }
        if (!flushed) _log.FlushIncomplete();
        _regions.CloseAll(unlinkSocket: true);
        _running = false;
        _log.ServerStopped();
        done.SetResult();
    }

    /// <summary>Samples the rings and schedules the next sampling; loop thread (or before it runs).</summary>
    private void SampleRings()
    {
        if (Volatile.Read(ref _stopped) != 0) return;
        _sampler.Sample(_regions.All);
        _loop.Schedule(_sampler.Interval, SampleRings);
    }

    /// <summary>
    /// The files others reach the daemon by can be removed under it (a cleaned runtime directory): its
    /// sockets' files and the peer id files. Every <see cref="FileCheckInterval"/> the runtime
    /// directory is created again if it is gone, a removed socket file is bound again and a removed id
    /// file saved again (docs/protocol.md, "Faults"). Loop thread.
    /// </summary>
    private void CheckFiles()
    {
        if (Volatile.Read(ref _stopped) != 0) return;
        try { Directory.CreateDirectory(Options.RuntimeDirectory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* each socket's check says what fails */ }
        foreach (ServedRegion region in _regions.All)
        {
            region.CheckSocketFile();
            region.CheckPeerIdFile();
        }
        _loop.Schedule(FileCheckInterval, CheckFiles);
    }

    /// <summary>Runs <paramref name="work"/> on the loop thread; fails when the loop is not running.</summary>
    private Task<T> OnLoop<T>(Func<T> work)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_running)
        {
            tcs.SetException(new InvalidOperationException("the server is not running"));
            return tcs.Task;
        }
        _loop.Post(() =>
        {
            try { tcs.SetResult(work()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        return tcs.Task;
    }

    private void RunLoop()
    {
        _loop.Run(() => _running, e => _log.LoopHandlerFailed(e));
    }
}
