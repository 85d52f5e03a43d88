using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Hosting;

/// <summary>
/// Where <c>ivshmemd run</c> hands over to the server. STUB: the server engineer replaces this file.
/// </summary>
public static class DaemonEntryPoint
{
    /// <summary>Runs the daemon with validated <paramref name="options"/> until
    /// <paramref name="cancellationToken"/> is cancelled or it is stopped by a signal; returns the exit
    /// status. <paramref name="configPath"/> is the absolute path to re-read on reload, or null for the
    /// built-in demo configuration (nothing to reload).</summary>
    public static Task<int> RunAsync(DaemonOptions options, string? configPath, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine("ivshmemd run: not implemented yet");
        return Task.FromResult(1);
    }
}
