namespace Ivshmem.Peer.Guest;

/// <summary>Which ivshmem variant a device is (docs/device.md, "The two variants").</summary>
public enum IvshmemDeviceKind
{
    /// <summary>ivshmem-plain: shared memory only (BAR0 and BAR2), no doorbell, no interrupts.</summary>
    Plain,

    /// <summary>ivshmem-doorbell: served by an ivshmem server; BAR1 holds the MSI-X table.</summary>
    Doorbell,
}

/// <summary>What sysfs says about one ivshmem device, before anything is opened.</summary>
/// <param name="SysfsPath">/sys/bus/pci/devices/BDF (or its counterpart under a test root).</param>
/// <param name="Driver">The bound driver's name (vfio-pci, uio_pci_generic, ...), or null when none.</param>
/// <param name="IommuGroup">The IOMMU group number, or null when the device has none (no IOMMU and no
/// no-IOMMU VFIO group yet).</param>
/// <param name="MsixVectors">The MSI-X table size from the capability, or null when there is no MSI-X
/// capability (or config space past 64 bytes could not be read: only root may).</param>
/// <param name="HasMsixCapability">True when the capability list has MSI-X; null when unknown.</param>
public sealed record IvshmemDeviceInfo(
    PciAddress Address,
    string SysfsPath,
    IReadOnlyList<PciBar> Bars,
    string? Driver,
    int? IommuGroup,
    int? MsixVectors,
    bool? HasMsixCapability,
    int Revision)
{
    /// <summary>Doorbell when BAR1 (the MSI-X table) is there and the capability list, when readable,
    /// has MSI-X; plain otherwise.</summary>
    public IvshmemDeviceKind Kind =>
        Bar(1).IsPresent && HasMsixCapability != false ? IvshmemDeviceKind.Doorbell : IvshmemDeviceKind.Plain;

    public PciBar Bar(int index) =>
        index < Bars.Count ? Bars[index] : new PciBar(index, 0, 0, 0);

    /// <summary>The shared memory's size (BAR2).</summary>
    public long SharedMemorySize => Bar(2).Size;

    public bool IsBoundToVfio => Driver == "vfio-pci";
}
