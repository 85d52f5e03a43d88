namespace Ivshmem.Peer.Guest;

/// <summary>One line of a device's sysfs <c>resource</c> file: a BAR's physical range and flags.</summary>
public sealed record PciBar(int Index, ulong Start, ulong End, long Flags)
{
    /// <summary>False for an unused BAR (the kernel prints zeros).</summary>
    public bool IsPresent => End > Start || Start != 0;

    /// <summary>True once the kernel gave the BAR an address. A device hot-added behind a bridge is
    /// announced before its BARs are assigned, and one that found no room keeps start 0 for good
    /// (docs/guest.md, "When the device comes and goes").</summary>
    public bool IsAssigned => IsPresent && Start != 0;

    public long Size => IsPresent ? (long)(End - Start + 1) : 0;

    public bool IsMemory => (Flags & Interop.IORESOURCE_MEM) != 0;

    public bool Is64Bit => (Flags & Interop.IORESOURCE_MEM_64) != 0;

    public bool IsPrefetchable => (Flags & Interop.IORESOURCE_PREFETCH) != 0;

    /// <summary>"64-bit prefetchable memory at 0x... (4 MiB)".</summary>
    public string Describe()
    {
        if (!IsPresent) return "unused";
        string kind = IsMemory ? (Is64Bit ? "64-bit " : "32-bit ") + (IsPrefetchable ? "prefetchable memory" : "memory") : "I/O ports";
        return $"{kind} at 0x{Start:x} ({Units.Bytes(Size)})";
    }
}
