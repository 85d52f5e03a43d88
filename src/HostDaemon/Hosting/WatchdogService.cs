using System.Globalization;
using Ivshmem.Daemon.Logging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Hosting;

/// <summary>
/// WATCHDOG=1 at half of WATCHDOG_USEC (sd_watchdog_enabled(3)), and only while the event loop still
/// answers: a daemon whose loop hangs stops pinging, and systemd restarts it (the data plane does not
/// notice; the fd store keeps everything).
/// </summary>
internal sealed class WatchdogService(DaemonService daemon, NotifySocket notifier, ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _log = loggers.CreateLogger("ivshmemd");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan? interval = Interval(Environment.GetEnvironmentVariable(SystemdVariables.WatchdogUsec),
            Environment.GetEnvironmentVariable(SystemdVariables.WatchdogPid), Environment.ProcessId);
        if (interval is not { } every || !notifier.IsEnabled) return;
        _log.WatchdogEnabled((long)every.TotalMilliseconds);
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (await daemon.Server.IsRespondingAsync(every).ConfigureAwait(false))
                    notifier.Notify(new ServiceState("WATCHDOG=1"));
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>Half the watchdog interval, or null when there is none for this process.</summary>
    internal static TimeSpan? Interval(string? usec, string? pid, int ownPid)
    {
        if (!long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out long micros) || micros <= 0) return null;
        if (pid is not null && (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int forPid) || forPid != ownPid)) return null;
        return TimeSpan.FromMicroseconds(Math.Max(micros / 2, 1000));
    }
}
