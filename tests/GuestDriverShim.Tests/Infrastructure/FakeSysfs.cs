using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Ivshmem.Peer.Tests;

/// <summary>
/// A sysfs tree laid out in a temporary directory, as Linux 6.1 shows PCI devices:
/// bus/pci/devices/BDF/{vendor,device,revision,resource,config,enable,resourceN}, driver and
/// iommu_group as symlinks, bus/pci/drivers/NAME/{bind,unbind}, bus/pci/drivers_probe.
/// resourceN are plain files, so the library's mmap of them works like the real thing.
/// </summary>
public sealed class FakeSysfs : IDisposable
{
    private readonly TempDirectory _dir = new();

    public FakeSysfs()
    {
        Directory.CreateDirectory(Combine("bus", "pci", "devices"));
        Directory.CreateDirectory(Combine("bus", "pci", "drivers"));
        File.WriteAllText(Combine("bus", "pci", "drivers_probe"), "");
    }

    public string Root => _dir.Path;

    public string Combine(params string[] parts) => _dir.Combine(parts);

    public string DevicePath(string bdf) => Combine("bus", "pci", "devices", bdf);

    public sealed record Bar(ulong Start, long Size, long Flags);

    public const long Mem32 = 0x40200;                  // IORESOURCE_MEM | IORESOURCE_SIZEALIGN
    public const long Mem64Prefetch = 0x14220c;         // MEM | PREFETCH | MEM_64 | SIZEALIGN | ...

    /// <summary>An ivshmem-doorbell as QEMU 7.2 presents it: BAR0 registers, BAR1 MSI-X, BAR2 memory.</summary>
    public string AddDoorbell(string bdf, long memorySize, int vectors = 2, string? driver = null, int? iommuGroup = null, ulong bar0Start = 0xfebfd000, bool fullConfig = true, ulong bar2Start = 0xfd000000) =>
        AddDevice(bdf, 0x1af4, 0x1110,
            [new Bar(bar0Start, 256, Mem32), new Bar(0xfebfe000, 4096, Mem32), new Bar(bar2Start, memorySize, Mem64Prefetch)],
            ConfigSpace(0x1af4, 0x1110, msixVectors: vectors, fullConfig), driver, iommuGroup);

    /// <summary>An ivshmem-plain: no BAR1, no capabilities.</summary>
    public string AddPlain(string bdf, long memorySize, string? driver = null, int? iommuGroup = null) =>
        AddDevice(bdf, 0x1af4, 0x1110,
            [new Bar(0xfebff000, 256, Mem32), new Bar(0, 0, 0), new Bar(0xfc000000, memorySize, Mem64Prefetch)],
            ConfigSpace(0x1af4, 0x1110, msixVectors: null, full: true), driver, iommuGroup);

    public string AddDevice(string bdf, int vendor, int device, IReadOnlyList<Bar> bars, byte[] config, string? driver, int? iommuGroup)
    {
        string path = DevicePath(bdf);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "vendor"), $"0x{vendor:x4}\n");
        File.WriteAllText(Path.Combine(path, "device"), $"0x{device:x4}\n");
        File.WriteAllText(Path.Combine(path, "revision"), "0x01\n");
        File.WriteAllText(Path.Combine(path, "enable"), "1\n");
        File.WriteAllText(Path.Combine(path, "driver_override"), "(null)\n");
        var resource = new StringBuilder();
        for (int i = 0; i < 7; i++)
        {
            Bar bar = i < bars.Count ? bars[i] : new Bar(0, 0, 0);
            ulong end = bar.Size == 0 ? 0 : bar.Start + (ulong)bar.Size - 1;
            resource.Append(CultureInfo.InvariantCulture, $"0x{bar.Start:x16} 0x{end:x16} 0x{bar.Flags:x16}\n");
        }
        File.WriteAllText(Path.Combine(path, "resource"), resource.ToString());
        File.WriteAllBytes(Path.Combine(path, "config"), config);
        if (driver is not null) Bind(bdf, driver);
        if (iommuGroup is int group)
        {
            string groupDir = Combine("kernel", "iommu_groups", group.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(groupDir);
            File.CreateSymbolicLink(Path.Combine(path, "iommu_group"), groupDir);
        }
        return path;
    }

    /// <summary>Points the device's driver link at bus/pci/drivers/NAME (creating the driver).</summary>
    public void Bind(string bdf, string driver)
    {
        string driverDir = AddDriver(driver);
        string link = Path.Combine(DevicePath(bdf), "driver");
        if (File.Exists(link) || Directory.Exists(link)) File.Delete(link);
        File.CreateSymbolicLink(link, driverDir);
    }

    public string AddDriver(string driver)
    {
        string driverDir = Combine("bus", "pci", "drivers", driver);
        Directory.CreateDirectory(driverDir);
        if (!File.Exists(Path.Combine(driverDir, "unbind"))) File.WriteAllText(Path.Combine(driverDir, "unbind"), "");
        return driverDir;
    }

    /// <summary>256 bytes of config space (or the 64 an unprivileged reader gets); with MSI-X, the
    /// capability list holds a vendor-specific capability first and then MSI-X, as a walk must handle.</summary>
    public static byte[] ConfigSpace(int vendor, int device, int? msixVectors, bool full)
    {
        byte[] c = new byte[256];
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x00), (ushort)vendor);
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x02), (ushort)device);
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x04), 0x0103);  // what SeaBIOS leaves: I/O, memory, no bus master
        c[0x08] = 1;
        c[0x0b] = 0x05;  // class: memory controller
        if (msixVectors is int vectors)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x06), 0x0010);  // status: capability list
            c[0x34] = 0x40;
            c[0x40] = 0x09;  // vendor-specific
            c[0x41] = 0x50;
            c[0x50] = 0x11;  // MSI-X
            c[0x51] = 0x00;
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x52), (ushort)(vectors - 1));
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0x54), 1);      // table in BAR1 at 0
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0x58), 0x801);  // PBA in BAR1 at 0x800
        }
        return full ? c : c[..64];
    }

    public void Dispose() => _dir.Dispose();
}
