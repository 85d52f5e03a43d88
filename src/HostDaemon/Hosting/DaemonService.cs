using System.Runtime.InteropServices;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Server;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Hosting;

/// <summary>
/// The daemon as a hosted service: starts the server core and the control socket (both listening
/// before StartAsync returns, so the READY=1 the systemd lifetime sends afterwards means
/// "listening"), keeps STATUS= current, reloads on SIGHUP and stops cleanly.
/// </summary>
internal sealed class DaemonService : IHostedService, IAsyncDisposable
{
    /// <summary>How long a stop waits for peers to read what they have not read yet.</summary>
    private static readonly TimeSpan StopFlushTimeout = TimeSpan.FromSeconds(2);

    private readonly DaemonOptions _options;
    private readonly DaemonState _state;
    private readonly RestoredFds _restored;
    private readonly NotifySocket _notifier;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private IvshmemServer? _server;
    private ControlServer? _control;
    private MetricsTextfile? _metrics;
    private PosixSignalRegistration? _sighup;
    private Task _reloading = Task.CompletedTask;

    public DaemonService(DaemonOptions options, DaemonState state, RestoredFds restored, NotifySocket notifier, ILoggerFactory loggers)
    {
        _options = options;
        _state = state;
        _restored = restored;
        _notifier = notifier;
        _log = loggers.CreateLogger("ivshmemd");
    }

    public IvshmemServer Server => _server ?? throw new InvalidOperationException("the daemon has not started");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _server = new IvshmemServer(_options, _log, _notifier.IsEnabled ? _notifier : null, _restored);
        _server.StatusChanged += PublishStatus;
        _server.Start();
        _control = new ControlServer(_options.ControlSocketPath, _options.ControlSocketGroup, BuildReport, _log);
        _control.Start();
        if (_options.Metrics is { } metrics)
        {
            _metrics = new MetricsTextfile(metrics, () => (Server.Status, Server.Rings), _log);
            _metrics.Start();
        }
        // Without a handler SIGHUP would kill the process, and systemd would call that reload a success.
        // Inherited as ignored (nohup), it would never reach the handler: take it back first.
        if (Interop.UnignoreSignal(Interop.SIGHUP_)) _log.SighupWasIgnored();
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            _reloading = Task.Run(ReloadAsync);
        });
        // The first STATUS= went out from Start (StatusChanged), before READY=1.
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _sighup?.Dispose();
        _sighup = null;
        await _reloading.ConfigureAwait(false);
        if (_metrics is not null) await _metrics.DisposeAsync().ConfigureAwait(false);
        _metrics = null;
        if (_control is not null) await _control.DisposeAsync().ConfigureAwait(false);
        _control = null;
        if (_server is not null) await _server.StopAsync(StopFlushTimeout).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_metrics is not null) await _metrics.DisposeAsync().ConfigureAwait(false);
        if (_control is not null) await _control.DisposeAsync().ConfigureAwait(false);
        _server?.Dispose();
        _notifier.Dispose();
        _reloadGate.Dispose();
    }

    /// <summary>
    /// systemctl reload: RELOADING=1 with MONOTONIC_USEC, re-read the file, apply it (or keep the old
    /// configuration when the file has errors: logged one by one and shown in STATUS=), READY=1.
    /// Reloads never overlap.
    /// </summary>
    internal async Task ReloadAsync()
    {
        await _reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _notifier.Notify(new ServiceState($"RELOADING=1\nMONOTONIC_USEC={Interop.MonotonicMicroseconds()}"));
            if (_state.ConfigPath is not { } path)
            {
                _log.ReloadNothing();
            }
            else
            {
                _log.ReloadStarted(path);
                ConfigLoadResult loaded = ConfigLoader.Load(path);
                if (!loaded.Succeeded)
                {
                    foreach (ConfigError error in loaded.Errors) _log.ConfigError(error.ToString());
                    _log.ReloadRejected(loaded.Errors.Count, path);
                    _state.LastReload = new ReloadRecord(DateTimeOffset.UtcNow, false, loaded.Errors.Select(e => e.ToString()).ToList(),
                        $"{Plural.Of(loaded.Errors.Count, "error")} in {path}; the previous configuration stays");
                }
                else
                {
                    ReloadOutcome outcome = await Server.ApplyAsync(loaded.Options).ConfigureAwait(false);
                    string summary = Summarize(outcome);
                    if (outcome.Succeeded) _log.ReloadSucceeded(summary);
                    else _log.ReloadPartlyFailed(string.Join("; ", outcome.Failed));
                    _state.ConfigurationSource = loaded.Options.SourcePath;
                    _state.LastReload = new ReloadRecord(DateTimeOffset.UtcNow, outcome.Succeeded, outcome.Failed, summary);
                }
            }
            PublishStatus(Server.Status);
            _notifier.Notify(ServiceState.Ready);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    private void PublishStatus(ServerStatus status) =>
        _notifier.Notify(new ServiceState("STATUS=" + StatusText.Build(status, _state.LastReload)));

    private StatusReport BuildReport() => StatusReport.From(Server.Status, _state, Server.Rings, Server.UnpluggedQemu);

    private static string Summarize(ReloadOutcome o)
    {
        var parts = new List<string>();
        if (o.Added.Count > 0) parts.Add($"added {string.Join(", ", o.Added)}");
        if (o.Removed.Count > 0) parts.Add($"removed {string.Join(", ", o.Removed)}");
        if (o.Retiring.Count > 0) parts.Add($"retiring (peers still connected) {string.Join(", ", o.Retiring)}");
        if (o.Replaced.Count > 0) parts.Add($"re-created {string.Join(", ", o.Replaced)}");
        if (o.Deferred.Count > 0) parts.Add($"changed but left as they are while peers are connected {string.Join(", ", o.Deferred)}");
        if (o.Failed.Count > 0) parts.Add($"failed {string.Join("; ", o.Failed)}");
        return parts.Count == 0 ? "no changes" : string.Join("; ", parts);
    }
}
