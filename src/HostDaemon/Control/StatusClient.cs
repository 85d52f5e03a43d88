namespace Ivshmem.Daemon.Control;

/// <summary>
/// The client side of <c>ivshmemd status</c>. STUB: the server engineer replaces this file.
/// </summary>
public static class StatusClient
{
    /// <summary>Asks the daemon at <paramref name="socketPath"/> for its status and writes it to
    /// <paramref name="output"/> as text or JSON; returns the exit status (0, or 1 when the daemon
    /// cannot be reached).</summary>
    public static Task<int> RunAsync(string socketPath, bool json, TextWriter output, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine("ivshmemd status: not implemented yet");
        return Task.FromResult(1);
    }
}
