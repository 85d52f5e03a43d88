namespace Ivshmem.Daemon.Hosting;

/// <summary>Environment variables systemd sets for a service, each named once (sd_notify(3),
/// sd_listen_fds(3), sd_watchdog_enabled(3)).</summary>
internal static class SystemdVariables
{
    /// <summary>Where to send sd_notify datagrams (Type=notify).</summary>
    public const string NotifySocket = "NOTIFY_SOCKET";

    /// <summary>Watchdog interval in microseconds (WatchdogSec=); ping at half of it.</summary>
    public const string WatchdogUsec = "WATCHDOG_USEC";

    /// <summary>The pid the watchdog is meant for, when set.</summary>
    public const string WatchdogPid = "WATCHDOG_PID";

    /// <summary>The pid the passed fds are meant for.</summary>
    public const string ListenPid = "LISTEN_PID";

    /// <summary>Number of fds passed, from fd 3 on (the fd store's content after a restart).</summary>
    public const string ListenFds = "LISTEN_FDS";

    /// <summary>Their names, colon-separated (FDNAME= when stored).</summary>
    public const string ListenFdNames = "LISTEN_FDNAMES";
}
