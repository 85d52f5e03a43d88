namespace Ivshmem.Daemon;

/// <summary>
/// Exit status of every ivshmemd command: 0, 1 and 2 in the convention of grep(1) and friends, and
/// some of sysexits.h for failures a caller (systemd, a script) should tell apart. It sits at the
/// root of the daemon's namespaces because the commands (Cli), the daemon's run (Hosting) and the
/// status client (Control) all return it, and Cli depends on the other two, never the reverse.
/// </summary>
public static class ExitCodes
{
    /// <summary>Did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>Could not: an unknown VM, a region or socket that could not be set up, a daemon that failed.</summary>
    public const int Failure = 1;

    /// <summary>The command line itself is wrong: unknown command or option, missing or extra argument.</summary>
    public const int Usage = 2;

    /// <summary><c>attach</c> refused before asking QEMU anything: adding an ivshmem device to that QEMU
    /// process would crash it (it already lost one: docs/migration.md, "Re-attaching into the same QEMU
    /// process"). Not a failure to retry: the VM must restart or migrate first.</summary>
    public const int Refused = 3;

    /// <summary>EX_UNAVAILABLE: <c>status</c> (or <c>attach</c>) found no daemon to ask (no control socket,
    /// nobody listening on it, no answer in time); <c>attach</c>/<c>detach</c> found no VM to talk to
    /// (no QMP socket, nobody listening, no answer).</summary>
    public const int Unavailable = 69;

    /// <summary>EX_TEMPFAIL: <c>detach</c> asked the guest to release the device and it did not within
    /// the timeout; the request stays pending, so trying again later may succeed.</summary>
    public const int TemporaryFailure = 75;

    /// <summary>EX_NOPERM: <c>status</c> may not connect to the control socket.</summary>
    public const int NoPermission = 77;

    /// <summary>EX_CONFIG: the configuration is not valid or cannot be read (<c>run</c> started nothing,
    /// <c>check-config</c> found errors). The unit's RestartPreventExitStatus= names it, so systemd
    /// does not restart a daemon that would fail the same way again.</summary>
    public const int Config = 78;
}
