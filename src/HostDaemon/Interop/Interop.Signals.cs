using System.Runtime.InteropServices;

namespace Ivshmem;

/// <summary>Signal dispositions the daemon inherits.</summary>
internal static partial class Interop
{
    internal const int SIGHUP_ = 1;

    /// <summary>
    /// Sets <paramref name="signal"/> back to its default action when the process inherited it
    /// ignored (nohup, some supervisors): .NET keeps an inherited SIG_IGN even after a
    /// PosixSignalRegistration, so the daemon's SIGHUP (reload) would silently do nothing. systemd
    /// resets every disposition for its services; anyone else gets the same here. Returns whether the
    /// signal had been ignored and is now taken back.
    /// </summary>
    internal static bool UnignoreSignal(int signal)
    {
        // Asked through /proc: signal(2) can only ask by changing it, and sigaction(2) would need its
        // struct declared here for this one question.
        string? mask = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (mask is null || !ulong.TryParse(mask.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, null, out ulong ignored)
            || (ignored & (1UL << (signal - 1))) == 0)
            return false;
        // From here until PosixSignalRegistration installs its handler (microseconds, during start-up)
        // the signal's default action applies: a SIGHUP just then ends the daemon, as without nohup.
        return signal_(signal, SIG_DFL_) != SIG_ERR_;
    }

    private const nint SIG_DFL_ = 0;
    private const nint SIG_ERR_ = -1;

    [LibraryImport("libc.so.6", EntryPoint = "signal")]
    private static partial nint signal_(int signal, nint handler);
}
