using Ivshmem.Ring;

namespace Ivshmem.Daemon.Configuration;

/// <summary>
/// Limits and defaults of the configuration, each in one place with its reason.
/// docs/configuration.md explains them for operators.
/// </summary>
public static class ConfigLimits
{
    /// <summary>The region layout needs room for its header and at least one ring per direction;
    /// below 64 KiB that no longer fits (IvshmemRing's RegionLayout).</summary>
    public const long MinRegionSize = RegionLayout.MinRegionSize;

    /// <summary>Largest region the layout describes (1 TiB).</summary>
    public const long MaxRegionSize = RegionLayout.MaxRegionSize;

    /// <summary>QEMU's device takes BAR2's size from the file and asserts it is a power of two
    /// (<c>pci_register_bar: Assertion is_power_of_2(size)</c>, exit 134).</summary>
    public static bool IsPowerOfTwo(long value) => value > 0 && (value & (value - 1)) == 0;

    /// <summary>At least one doorbell vector, or the device cannot be interrupted at all.</summary>
    public const int MinVectors = 1;

    /// <summary>The Doorbell register reaches vectors 0..255, but the reference ivshmem-server caps
    /// at 64 (IVSHMEM_SERVER_MAX_VECTORS) and every vector costs each peer one eventfd per peer.</summary>
    public const int MaxVectors = 64;

    /// <summary>Two vectors: one for data, one for the daemon's peer-table change notices.</summary>
    public const int DefaultVectors = 2;

    /// <summary>A channel needs two ends.</summary>
    public const int MinPeers = RegionLayout.MinSlots;

    /// <summary>The peer table in the region has at most 64 slots (and rings grow with slots²).</summary>
    public const int MaxPeers = RegionLayout.MaxSlots;

    /// <summary>sun_path holds 108 bytes including the terminating NUL (the limit the socket layer
    /// itself enforces).</summary>
    public const int MaxSocketPathBytes = Interop.MaxSocketPathBytes;

    /// <summary>Region names become file names and QEMU ids ("ivshmem-&lt;name&gt;"); keep them short.</summary>
    public const int MaxRegionNameLength = 48;

    /// <summary>Owner and group read/write: connecting to a UNIX socket needs write permission.</summary>
    public const UnixFileMode DefaultSocketMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
}
