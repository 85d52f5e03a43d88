using System.Net.Sockets;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Libvirt;
using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Ivshmem.Daemon.Hosting;

/// <summary>
/// Where <c>ivshmemd run</c> hands over to the daemon: a Generic Host with systemd integration around
/// the server core. Process-wide things live here and nowhere else: the fds systemd passed
/// (LISTEN_FDS), the notify socket, signals (SIGTERM via the lifetime, SIGHUP in the service).
/// </summary>
public static class DaemonEntryPoint
{
    /// <summary>Runs the daemon with validated <paramref name="options"/> until
    /// <paramref name="cancellationToken"/> is cancelled or it is stopped by a signal; returns the exit
    /// status. <paramref name="configPath"/> is the absolute path to re-read on reload, or null for the
    /// built-in demo configuration (nothing to reload).</summary>
    public static async Task<int> RunAsync(DaemonOptions options, string? configPath, CancellationToken cancellationToken)
    {
        RestoredFds restored = SystemdListenFds.Take();
        using IHost host = Build(options, configPath, restored);
        ILogger log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ivshmemd");
        try
        {
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (IsExpectedStartFailure(e))
        {
            // One line, at priority crit under systemd: what could not be set up and why. These are
            // paths, permissions and names of the configuration meeting the machine, not bugs, so no
            // stack trace (the host's own "Hosting failed to start" is filtered out in Build).
            log.StartFailed(Reason(e));
            return ExitCodes.Failure;
        }
    }

    /// <summary>Failures of the environment (files, sockets, permissions, users and groups, sizes), as
    /// opposed to bugs, which keep their stack trace.</summary>
    internal static bool IsExpectedStartFailure(Exception e) => e switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsExpectedStartFailure),
        _ => e is IOException or UnauthorizedAccessException or SocketException or ArgumentException or InvalidOperationException,
    };

    internal static string Reason(Exception e) =>
        e is AggregateException aggregate ? string.Join("; ", aggregate.InnerExceptions.Select(Reason)) : e.Message;

    private static IHost Build(DaemonOptions options, string? configPath, RestoredFds restored)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "ivshmemd",
            // Nothing is read from the working directory (there is no appsettings.json to find).
            ContentRootPath = "/",
        });

        // Logs go to standard error (standard output stays for command results); under systemd
        // AddSystemd switches the formatter to one that prefixes journal priorities.
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // A failed start is logged once, by us, with the reason (event 5007), not as a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        // Our notifier first, so AddSystemd's TryAdd keeps it: it also does FDSTORE, and it is there
        // even when the parent is not systemd (a test or another supervisor owning NOTIFY_SOCKET).
        builder.Services.AddSingleton(sp => NotifySocket.FromEnvironment(sp.GetRequiredService<ILoggerFactory>().CreateLogger("ivshmemd")));
        builder.Services.AddSingleton<ISystemdNotifier>(sp => sp.GetRequiredService<NotifySocket>());
        builder.Services.AddSystemd();
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SystemdVariables.NotifySocket)) && !SystemdHelpers.IsSystemdService())
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>(); // READY=1 / STOPPING=1, SIGTERM
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new DaemonState(options.SourcePath, configPath));
        builder.Services.AddSingleton(restored);
        builder.Services.AddSingleton<DaemonService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DaemonService>());
        builder.Services.AddHostedService<WatchdogService>();
        // After DaemonService, whose server it reads the pairings from (they change with a reload).
        if (options.Libvirt is { Follow: true } libvirt)
            builder.Services.AddHostedService(sp => new LibvirtFollower(libvirt,
                () => sp.GetRequiredService<DaemonService>().Server.Options.Regions,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("ivshmemd"),
                pid => sp.GetRequiredService<DaemonService>().Server.UnpluggedQemu.Any(u => u.Process.Pid == pid)));
        return builder.Build();
    }
}
