namespace Ivshmem.Daemon.Cli;

/// <summary>Exit status of every ivshmemd command (the convention of grep(1) and friends).</summary>
public static class ExitCodes
{
    /// <summary>Did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>Could not: an invalid configuration, an unknown VM, a daemon that failed or is not reachable.</summary>
    public const int Failure = 1;

    /// <summary>The command line itself is wrong: unknown command or option, missing or extra argument.</summary>
    public const int Usage = 2;
}
