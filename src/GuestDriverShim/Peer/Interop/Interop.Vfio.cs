using System.Runtime.InteropServices;
using System.Text;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>
/// The VFIO user API (linux/vfio.h) as far as ivshmem needs it: container, group, device, regions,
/// MSI-X. Names are the header's own, so the kernel documentation applies word for word, and
/// <c>KernelHeaderTests</c> proves every value and offset here against the real header with a C
/// compiler. The sequence: docs/device.md, "Opening the device through VFIO".
/// </summary>
internal static unsafe partial class Interop
{
    // ioctl numbers: _IO(VFIO_TYPE = ';', VFIO_BASE = 100 + n). The header declares them with _IO (no
    // size or direction bits), whatever the argument is.
    internal const int VFIO_GET_API_VERSION = 0x3B64;
    internal const int VFIO_CHECK_EXTENSION = 0x3B65;
    internal const int VFIO_SET_IOMMU = 0x3B66;
    internal const int VFIO_GROUP_GET_STATUS = 0x3B67;
    internal const int VFIO_GROUP_SET_CONTAINER = 0x3B68;
    internal const int VFIO_GROUP_UNSET_CONTAINER = 0x3B69;
    internal const int VFIO_GROUP_GET_DEVICE_FD = 0x3B6A;
    internal const int VFIO_DEVICE_GET_INFO = 0x3B6B;
    internal const int VFIO_DEVICE_GET_REGION_INFO = 0x3B6C;
    internal const int VFIO_DEVICE_GET_IRQ_INFO = 0x3B6D;
    internal const int VFIO_DEVICE_SET_IRQS = 0x3B6E;
    internal const int VFIO_DEVICE_RESET = 0x3B6F;

    internal const int VFIO_API_VERSION = 0;

    // IOMMU backends (VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU).
    internal const int VFIO_TYPE1_IOMMU = 1;
    internal const int VFIO_TYPE1v2_IOMMU = 3;
    internal const int VFIO_NOIOMMU_IOMMU = 8;

    internal const int VFIO_GROUP_FLAGS_VIABLE = 1 << 0;
    internal const int VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1;

    internal const int VFIO_DEVICE_FLAGS_RESET = 1 << 0;
    internal const int VFIO_DEVICE_FLAGS_PCI = 1 << 1;

    internal const int VFIO_REGION_INFO_FLAG_READ = 1 << 0;
    internal const int VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
    internal const int VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;

    internal const int VFIO_IRQ_INFO_EVENTFD = 1 << 0;
    internal const int VFIO_IRQ_INFO_NORESIZE = 1 << 3;

    internal const int VFIO_IRQ_SET_DATA_NONE = 1 << 0;
    internal const int VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
    internal const int VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;

    // vfio-pci region and IRQ indexes (enums in the header).
    internal const int VFIO_PCI_BAR0_REGION_INDEX = 0;
    internal const int VFIO_PCI_BAR2_REGION_INDEX = 2;
    internal const int VFIO_PCI_CONFIG_REGION_INDEX = 7;
    internal const int VFIO_PCI_MSIX_IRQ_INDEX = 2;

    /// <summary>The device request interrupt: vfio-pci signals it when the kernel wants the device
    /// back (hot-unplug, unbind) and keeps signalling every 10 s until every fd and mapping of the
    /// device is gone (docs/guest.md, "When the device comes and goes").</summary>
    internal const int VFIO_PCI_REQ_IRQ_INDEX = 4;

    [StructLayout(LayoutKind.Sequential)]
    internal struct vfio_group_status
    {
        public uint argsz;
        public uint flags;
    }

    /// <summary>20 bytes in the 6.1 headers; newer headers append a pad word. The kernel only needs
    /// argsz to cover up to num_irqs.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct vfio_device_info
    {
        public uint argsz;
        public uint flags;
        public uint num_regions;
        public uint num_irqs;
        public uint cap_offset;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct vfio_region_info
    {
        public uint argsz;
        public uint flags;
        public uint index;
        public uint cap_offset;
        public ulong size;
        public ulong offset;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct vfio_irq_info
    {
        public uint argsz;
        public uint flags;
        public uint index;
        public uint count;
    }

    /// <summary>The header of VFIO_DEVICE_SET_IRQS; <c>count</c> s32 eventfds follow it (data[]).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct vfio_irq_set
    {
        public uint argsz;
        public uint flags;
        public uint index;
        public uint start;
        public uint count;
    }

    /// <summary>ioctl with no argument or an int argument; returns the result (never -1).</summary>
    internal static int VfioIoctl(int fd, int request, int arg, string what)
    {
        while (true)
        {
            int r = ioctl(fd, request, arg);
            if (r != -1) return r;
            int errno = LastErrno();
            if (errno != EINTR) throw ErrorFor(errno, what);
        }
    }

    /// <summary>ioctl with a pointer argument; returns the result (never -1).</summary>
    internal static int VfioIoctl(int fd, int request, void* arg, string what)
    {
        while (true)
        {
            int r = ioctl(fd, request, arg);
            if (r != -1) return r;
            int errno = LastErrno();
            if (errno != EINTR) throw ErrorFor(errno, what);
        }
    }

    /// <summary>VFIO_GROUP_SET_CONTAINER takes a pointer to the container fd.</summary>
    internal static void VfioGroupSetContainer(int group, int container)
    {
        int c = container;
        VfioIoctl(group, VFIO_GROUP_SET_CONTAINER, &c, "VFIO_GROUP_SET_CONTAINER");
    }

    internal static vfio_group_status VfioGroupGetStatus(int group)
    {
        var status = new vfio_group_status { argsz = (uint)sizeof(vfio_group_status) };
        VfioIoctl(group, VFIO_GROUP_GET_STATUS, &status, "VFIO_GROUP_GET_STATUS");
        return status;
    }

    /// <summary>Returns the device fd for <paramref name="bdf"/> ("0000:00:04.0").</summary>
    internal static int VfioGroupGetDeviceFd(int group, string bdf)
    {
        byte[] name = Encoding.ASCII.GetBytes(bdf + "\0");
        fixed (byte* p = name)
            return VfioIoctl(group, VFIO_GROUP_GET_DEVICE_FD, p, $"VFIO_GROUP_GET_DEVICE_FD({bdf})");
    }

    internal static vfio_region_info VfioDeviceGetRegionInfo(int device, int index)
    {
        var info = new vfio_region_info { argsz = (uint)sizeof(vfio_region_info), index = (uint)index };
        VfioIoctl(device, VFIO_DEVICE_GET_REGION_INFO, &info, $"VFIO_DEVICE_GET_REGION_INFO(region {index})");
        return info;
    }

    internal static vfio_irq_info VfioDeviceGetIrqInfo(int device, int index)
    {
        var info = new vfio_irq_info { argsz = (uint)sizeof(vfio_irq_info), index = (uint)index };
        VfioIoctl(device, VFIO_DEVICE_GET_IRQ_INFO, &info, $"VFIO_DEVICE_GET_IRQ_INFO(index {index})");
        return info;
    }

    /// <summary>Wires vectors 0..fds.Length-1 of IRQ index <paramref name="index"/> to the eventfds
    /// (DATA_EVENTFD | ACTION_TRIGGER); for MSI-X this is what enables MSI-X on the device.</summary>
    internal static void VfioDeviceSetIrqEventFds(int device, int index, ReadOnlySpan<int> fds)
    {
        int size = sizeof(vfio_irq_set) + sizeof(int) * fds.Length;
        byte* buffer = stackalloc byte[size];
        var header = (vfio_irq_set*)buffer;
        header->argsz = (uint)size;
        header->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
        header->index = (uint)index;
        header->start = 0;
        header->count = (uint)fds.Length;
        fds.CopyTo(new Span<int>(buffer + sizeof(vfio_irq_set), fds.Length));
        VfioIoctl(device, VFIO_DEVICE_SET_IRQS, buffer, $"VFIO_DEVICE_SET_IRQS(index {index}, {fds.Length} eventfds)");
    }

    /// <summary>Tears down every vector of IRQ index <paramref name="index"/> (DATA_NONE | ACTION_TRIGGER, count 0).</summary>
    internal static void VfioDeviceDisableIrqs(int device, int index)
    {
        var set = new vfio_irq_set
        {
            argsz = (uint)sizeof(vfio_irq_set),
            flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
            index = (uint)index,
            start = 0,
            count = 0,
        };
        VfioIoctl(device, VFIO_DEVICE_SET_IRQS, &set, $"VFIO_DEVICE_SET_IRQS(index {index}, disable)");
    }
}
