using System.Globalization;
using Ivshmem.Peer;

namespace Ivshmem.Agent.Transfer;

/// <summary>What one transfer moved, as both sides report it.</summary>
internal sealed record TransferResult(long Bytes, UInt128 Hash, TimeSpan Elapsed, long Wakeups)
{
    public static string Hex(UInt128 hash) => hash.ToString("x32", CultureInfo.InvariantCulture);

    public string Rate => Elapsed.TotalSeconds > 0 ? Units.Rate(Bytes / Elapsed.TotalSeconds) : "-";

    /// <summary>"67108864 bytes (64.0 MiB) in 2.31 s (29.1 MB/s), xxh128 0123...".</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"{Bytes} bytes ({Units.Bytes(Bytes)}) in {Elapsed.TotalSeconds:0.00} s ({Rate}), xxh128 {Hex(Hash)}");

    /// <summary>"; 40 doorbell interrupts woke this side", or nothing without interrupts.</summary>
    public string WakeupNote => Wakeups >= 0 ? $"; {Wakeups} doorbell interrupts woke this side" : "";
}

/// <summary>The receiver computed another checksum than the sender: the data is not what was sent.</summary>
internal sealed class ChecksumMismatchException(string message) : Exception(message);

/// <summary>The other side gave up and said why (its Abort message).</summary>
internal sealed class PeerAbortedException(string message) : Exception(message);
