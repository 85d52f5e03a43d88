namespace Ivshmem;

/// <summary>PCI configuration space and sysfs facts (pci_regs.h, linux/ioport.h).</summary>
internal static partial class Interop
{
    internal const int PCI_VENDOR_ID = 0x00;
    internal const int PCI_DEVICE_ID = 0x02;
    internal const int PCI_COMMAND = 0x04;
    internal const int PCI_STATUS = 0x06;
    internal const int PCI_CAPABILITY_LIST = 0x34;

    internal const int PCI_COMMAND_MEMORY = 0x2;
    internal const int PCI_COMMAND_MASTER = 0x4;
    internal const int PCI_STATUS_CAP_LIST = 0x10;

    internal const int PCI_CAP_ID_MSIX = 0x11;
    internal const int PCI_MSIX_FLAGS = 2;
    internal const int PCI_MSIX_FLAGS_QSIZE = 0x07FF;
    internal const int PCI_MSIX_FLAGS_ENABLE = 0x8000;
    internal const int PCI_MSIX_TABLE = 4;
    internal const int PCI_MSIX_TABLE_BIR = 0x7;

    // Resource flags in /sys/bus/pci/devices/*/resource (third column).
    internal const long IORESOURCE_IO = 0x100;
    internal const long IORESOURCE_MEM = 0x200;
    internal const long IORESOURCE_PREFETCH = 0x2000;
    internal const long IORESOURCE_MEM_64 = 0x100000;
}
