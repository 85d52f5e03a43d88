namespace Ivshmem.Peer.Guest;

/// <summary>How a guest program reaches the device.</summary>
public enum GuestAccess
{
    /// <summary>VFIO when the device is bound to vfio-pci (or <see cref="GuestDeviceOptions.Bind"/>
    /// asks for it), sysfs otherwise.</summary>
    Auto,

    /// <summary>vfio-pci: BARs through the device fd, MSI-X doorbell interrupts on eventfds.</summary>
    Vfio,

    /// <summary>sysfs resource files (and /dev/mem): memory and doorbell writes, but no interrupts, so
    /// this side polls.</summary>
    Sysfs,
}

/// <summary>Which ivshmem device to open and how.</summary>
public sealed record GuestDeviceOptions
{
    /// <summary>PCI address ("0000:00:04.0"); null: the only ivshmem device.</summary>
    public string? Device { get; init; }

    public GuestAccess Access { get; init; } = GuestAccess.Auto;

    public SharedMemoryMapping Mapping { get; init; } = SharedMemoryMapping.Auto;

    /// <summary>Bind the device to vfio-pci first (driver_override + drivers_probe). Needs root.</summary>
    public bool Bind { get; init; }

    /// <summary>Where sysfs is mounted; tests point it at a fake tree.</summary>
    public string SysfsRoot { get; init; } = "/sys";

    /// <summary>Where device nodes are (/dev/vfio, /dev/mem).</summary>
    public string DevRoot { get; init; } = "/dev";

    /// <summary>Progress notes (binding, fallbacks), or null.</summary>
    public Action<string>? Log { get; init; }
}
