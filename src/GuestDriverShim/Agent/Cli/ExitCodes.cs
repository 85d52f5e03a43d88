namespace Ivshmem.Agent.Cli;

/// <summary>Exit status of every ivshmem-agent command.</summary>
internal static class ExitCodes
{
    /// <summary>Done; for a transfer: the receiver verified the checksum.</summary>
    public const int Ok = 0;

    /// <summary>Could not: no device, no such peer, an I/O error, a timeout.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong; nothing was done.</summary>
    public const int Usage = 2;

    /// <summary>The peer left (its VM stopped or its program exited) or was replaced during the operation,
    /// or this side's device is being unplugged (docs/guest.md, "When the device comes and goes").</summary>
    public const int PeerGone = 3;

    /// <summary>The data arrived but its checksum did not match what the sender computed.</summary>
    public const int ChecksumMismatch = 4;
}
