using System.Buffers.Binary;

namespace Ivshmem.Peer.Guest;

/// <summary>Which VFIO IOMMU backend a container got.</summary>
public enum VfioIommuType
{
    /// <summary>VFIO_TYPE1v2_IOMMU: the guest has an IOMMU (QEMU's intel-iommu), /dev/vfio/N.</summary>
    Type1v2,

    /// <summary>VFIO_TYPE1_IOMMU: older kernels without v2.</summary>
    Type1,

    /// <summary>VFIO_NOIOMMU_IOMMU: no IOMMU, /dev/vfio/noiommu-N (CONFIG_VFIO_NOIOMMU, taints the kernel).</summary>
    NoIommu,
}

/// <summary>One vfio-pci region as VFIO_DEVICE_GET_REGION_INFO describes it.</summary>
internal readonly record struct VfioRegion(int Index, long Size, long Offset, bool CanMap, bool CanRead, bool CanWrite);

/// <summary>
/// A device opened through VFIO: container, group and device fds, in the order of docs/device.md,
/// "Opening the device through VFIO" (steps 1-5). Owns all three; dispose closes them in reverse.
/// </summary>
internal sealed class VfioDevice : IDisposable
{
    private int _container = -1;
    private int _group = -1;
    private int _device = -1;

    private VfioIommuType _iommu;

    private VfioDevice(string groupPath) => GroupPath = groupPath;

    public string GroupPath { get; }

    /// <summary>The IOMMU backend the container was set to.</summary>
    public VfioIommuType Iommu => _iommu;

    public int Fd => _device;

    public static VfioDevice Open(IvshmemDeviceInfo info, string devRoot = "/dev")
    {
        if (!info.IsBoundToVfio)
            throw new IvshmemDeviceException($"{info.Address} is bound to {info.Driver ?? "no driver"}, not vfio-pci: use --bind (as root), or bind it yourself (echo vfio-pci > {info.SysfsPath}/driver_override; echo {info.Address} > /sys/bus/pci/drivers_probe)");
        if (info.IommuGroup is not int groupNumber)
            throw new IvshmemDeviceException($"{info.Address} is bound to vfio-pci but has no IOMMU group");

        string vfioDir = Path.Combine(devRoot, "vfio");
        string typed = Path.Combine(vfioDir, groupNumber.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string noIommu = Path.Combine(vfioDir, $"noiommu-{groupNumber}");
        (string groupPath, bool isNoIommu) = File.Exists(typed) ? (typed, false)
            : File.Exists(noIommu) ? (noIommu, true)
            : throw new IvshmemDeviceException($"neither {typed} nor {noIommu} exists, although {info.Address} is bound to vfio-pci (is devtmpfs mounted on {devRoot}?)");

        var device = new VfioDevice(groupPath);
        try
        {
            device.OpenFds(info, groupPath, isNoIommu);
            return device;
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    private void OpenFds(IvshmemDeviceInfo info, string groupPath, bool isNoIommu)
    {
        string containerPath = Path.Combine(Path.GetDirectoryName(groupPath)!, "vfio");
        _container = OpenNode(containerPath);
        int api = Interop.VfioIoctl(_container, Interop.VFIO_GET_API_VERSION, 0, "VFIO_GET_API_VERSION");
        if (api != Interop.VFIO_API_VERSION)
            throw new IvshmemDeviceException($"{containerPath} speaks VFIO API version {api}; this program knows version {Interop.VFIO_API_VERSION}");

        _group = OpenNode(groupPath);
        var status = Interop.VfioGroupGetStatus(_group);
        if ((status.flags & Interop.VFIO_GROUP_FLAGS_VIABLE) == 0)
            throw new IvshmemDeviceException($"IOMMU group {info.IommuGroup} ({groupPath}) is not viable: every device in it must be bound to vfio-pci or to no driver (ls {info.SysfsPath}/iommu_group/devices)");
        Interop.VfioGroupSetContainer(_group, _container);

        int type;
        if (isNoIommu)
        {
            type = Interop.VFIO_NOIOMMU_IOMMU;
            _iommu = VfioIommuType.NoIommu;
        }
        else if (Interop.VfioIoctl(_container, Interop.VFIO_CHECK_EXTENSION, Interop.VFIO_TYPE1v2_IOMMU, "VFIO_CHECK_EXTENSION(TYPE1v2)") > 0)
        {
            type = Interop.VFIO_TYPE1v2_IOMMU;
            _iommu = VfioIommuType.Type1v2;
        }
        else
        {
            type = Interop.VFIO_TYPE1_IOMMU;
            _iommu = VfioIommuType.Type1;
        }
        if (Interop.VfioIoctl(_container, Interop.VFIO_CHECK_EXTENSION, type, "VFIO_CHECK_EXTENSION") <= 0)
            throw new IvshmemDeviceException(isNoIommu
                ? "the kernel offers no no-IOMMU VFIO container: load vfio with enable_unsafe_noiommu_mode=1"
                : "the kernel offers no type1 VFIO IOMMU backend: load vfio_iommu_type1 (busybox modprobe skips it: load it by name before vfio-pci)");
        Interop.VfioIoctl(_container, Interop.VFIO_SET_IOMMU, type, "VFIO_SET_IOMMU");
        _device = Interop.VfioGroupGetDeviceFd(_group, info.Address.ToString());
    }

    private static int OpenNode(string path)
    {
        try { return Interop.OpenReadWrite(path); }
        catch (IOException e) when (e.HResult == Interop.EBUSY)
        {
            throw new IvshmemDeviceException($"{path} is busy: another process holds this VFIO group (only one program at a time can use the device; is another ivshmem-agent running?)", e);
        }
        catch (IOException e) when (e.HResult is Interop.EACCES or Interop.EPERM)
        {
            throw new IvshmemDeviceException($"{e.Message}: VFIO needs root, or ownership of {path}", e);
        }
    }

    public VfioRegion Region(int index)
    {
        var r = Interop.VfioDeviceGetRegionInfo(_device, index);
        return new VfioRegion(index, (long)r.size, (long)r.offset,
            (r.flags & Interop.VFIO_REGION_INFO_FLAG_MMAP) != 0,
            (r.flags & Interop.VFIO_REGION_INFO_FLAG_READ) != 0,
            (r.flags & Interop.VFIO_REGION_INFO_FLAG_WRITE) != 0);
    }

    /// <summary>The number of MSI-X vectors VFIO can wire (the device's table size).</summary>
    public int MsixCount()
    {
        var irq = Interop.VfioDeviceGetIrqInfo(_device, Interop.VFIO_PCI_MSIX_IRQ_INDEX);
        return (irq.flags & Interop.VFIO_IRQ_INFO_EVENTFD) != 0 ? (int)irq.count : 0;
    }

    /// <summary>
    /// Sets Bus Master in the command register (through the config region). vfio-pci turns memory
    /// decoding on when the device is opened, but leaves bus mastering off, and QEMU drops MSI-X
    /// messages from a device that may not master the bus (docs/device.md, "Interrupts are MSI-X only").
    /// </summary>
    public void EnableBusMaster()
    {
        VfioRegion config = Region(Interop.VFIO_PCI_CONFIG_REGION_INDEX);
        Span<byte> word = stackalloc byte[2];
        Interop.PReadExactly(_device, word, config.Offset + Interop.PCI_COMMAND, "read the PCI command register");
        ushort command = BinaryPrimitives.ReadUInt16LittleEndian(word);
        const ushort wanted = Interop.PCI_COMMAND_MASTER | Interop.PCI_COMMAND_MEMORY;
        if ((command & wanted) == wanted) return;
        BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)(command | wanted));
        Interop.PWriteExactly(_device, word, config.Offset + Interop.PCI_COMMAND, "write the PCI command register");
    }

    /// <summary>Creates one eventfd per MSI-X vector and has VFIO signal vector k on eventfd k; this
    /// enables MSI-X on the device. Returns the eventfds (the caller owns them).</summary>
    public int[] EnableMsix(int count)
    {
        var fds = new int[count];
        Array.Fill(fds, -1);
        try
        {
            for (int i = 0; i < count; i++) fds[i] = Interop.EventFdCreate();
            Interop.VfioDeviceSetIrqEventFds(_device, Interop.VFIO_PCI_MSIX_IRQ_INDEX, fds);
            return fds;
        }
        catch
        {
            foreach (int fd in fds) Interop.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Registers a new eventfd as the device request interrupt (VFIO_PCI_REQ_IRQ_INDEX), which
    /// vfio-pci signals when the kernel wants the device back. Returns the eventfd (the caller owns
    /// it), or -1 when this vfio-pci offers no such interrupt.
    /// </summary>
    public int EnableRequestIrq()
    {
        Interop.vfio_irq_info irq;
        try { irq = Interop.VfioDeviceGetIrqInfo(_device, Interop.VFIO_PCI_REQ_IRQ_INDEX); }
        catch (IOException) { return -1; }
        if (irq.count < 1 || (irq.flags & Interop.VFIO_IRQ_INFO_EVENTFD) == 0) return -1;
        int fd = Interop.EventFdCreate();
        try
        {
            Interop.VfioDeviceSetIrqEventFds(_device, Interop.VFIO_PCI_REQ_IRQ_INDEX, [fd]);
            return fd;
        }
        catch
        {
            Interop.Close(fd);
            throw;
        }
    }

    public void DisableMsix() => Interop.VfioDeviceDisableIrqs(_device, Interop.VFIO_PCI_MSIX_IRQ_INDEX);

    public void Dispose()
    {
        Interop.Close(_device);
        Interop.Close(_group);
        Interop.Close(_container);
        _device = _group = _container = -1;
    }
}
