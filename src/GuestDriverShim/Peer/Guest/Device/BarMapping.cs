using System.Globalization;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Guest;

/// <summary>How BAR2 (the shared memory) is mapped into this process.</summary>
public enum SharedMemoryMapping
{
    /// <summary>VFIO access: the VFIO region mapping. sysfs access: write-back through /dev/mem where
    /// the kernel allows it, else resource2.</summary>
    Auto,

    /// <summary>Through the device's own interface: the VFIO device fd (VFIO access) or sysfs
    /// resource2 (sysfs access). Both are uncached (UC-): vfio-pci and pci-sysfs map BARs with
    /// pgprot_noncached / pgprot_device.</summary>
    Device,

    /// <summary>/dev/mem without O_SYNC at BAR2's physical address: the kernel asks PAT for
    /// write-back. Refused under lockdown, and (CONFIG_IO_STRICT_DEVMEM) once a driver has claimed the
    /// BAR, e.g. after vfio-pci mapped it.</summary>
    DevMem,
}

/// <summary>What mapping BAR2 got, for <c>info</c> and reports.</summary>
/// <param name="Method">"vfio", "sysfs resource2" or "/dev/mem".</param>
/// <param name="Requested">The cache mode the mapping path asks for ("uncached (UC-)", "write-back").</param>
/// <param name="KernelMemtype">What the kernel's PAT table says for BAR2
/// (/sys/kernel/debug/x86/pat_memtype_list), or null when debugfs is not mounted.</param>
public sealed record SharedMemoryMappingInfo(string Method, string Source, string Requested, string? KernelMemtype, ulong PhysicalAddress, long Size)
{
    /// <summary>"vfio (uncached (UC-); kernel PAT: uncached-minus)".</summary>
    public string Describe() =>
        $"{Method}: {Source}, requested {Requested}; kernel PAT: {KernelMemtype ?? "unknown (mount debugfs on /sys/kernel/debug to see it)"}";
}

/// <summary>An mmap of BAR2; unmapped on dispose.</summary>
internal sealed unsafe class BarMapping : IDisposable
{
    private byte* _pointer;

    public BarMapping(byte* pointer, long length, SharedMemoryMappingInfo info)
    {
        _pointer = pointer;
        Length = length;
        Info = info;
    }

    public long Length { get; }
    public SharedMemoryMappingInfo Info { get; }

    public SharedMemory Memory
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return new SharedMemory(_pointer, Length);
        }
    }

    public void Dispose()
    {
        byte* p = _pointer;
        _pointer = null;
        Interop.Unmap(p, Length);
    }

    /// <summary>Maps /dev/mem at <paramref name="physical"/> without O_SYNC (write-back where PAT allows).</summary>
    public static BarMapping MapDevMem(string devRoot, string sysfsRoot, ulong physical, long size)
    {
        string path = Path.Combine(devRoot, "mem");
        int fd = Interop.OpenReadWrite(path);
        try
        {
            byte* p = Interop.MapShared(fd, size, (long)physical, path);
            return new BarMapping(p, size, new SharedMemoryMappingInfo("/dev/mem", $"{path} at 0x{physical:x}", "write-back", PatMemtype.Lookup(sysfsRoot, physical), physical, size));
        }
        finally
        {
            Interop.Close(fd);
        }
    }

    /// <summary>Maps a sysfs resource file (uncached, pgprot_device).</summary>
    public static BarMapping MapSysfsResource(string resourcePath, string sysfsRoot, ulong physical, long size)
    {
        int fd = Interop.OpenReadWrite(resourcePath, sync: true);
        try
        {
            byte* p = Interop.MapShared(fd, size, 0, resourcePath);
            return new BarMapping(p, size, new SharedMemoryMappingInfo("sysfs", resourcePath, "uncached (UC-)", PatMemtype.Lookup(sysfsRoot, physical), physical, size));
        }
        finally
        {
            Interop.Close(fd);
        }
    }

    /// <summary>Maps a VFIO region of the device fd (vfio-pci maps BARs pgprot_noncached).</summary>
    public static BarMapping MapVfioRegion(int deviceFd, VfioRegion region, string sysfsRoot, ulong physical)
    {
        byte* p = Interop.MapShared(deviceFd, region.Size, region.Offset, $"VFIO region {region.Index}");
        return new BarMapping(p, region.Size, new SharedMemoryMappingInfo("vfio", $"VFIO device fd, region {region.Index}", "uncached (UC-)", PatMemtype.Lookup(sysfsRoot, physical), physical, region.Size));
    }
}

/// <summary>Reads the x86 PAT memtype list that debugfs exposes, to say which cache mode the kernel
/// really gave a physical range (it may downgrade a request that conflicts with another mapping).</summary>
public static class PatMemtype
{
    /// <summary>The memtype of the last entry that covers <paramref name="physical"/>, or null.</summary>
    public static string? Lookup(string sysfsRoot, ulong physical)
    {
        string? text = PciDiscovery.ReadText(Path.Combine(sysfsRoot, "kernel", "debug", "x86", "pat_memtype_list"));
        return text is null ? null : Find(text, physical);
    }

    /// <summary>Parses lines like "PAT: [mem 0x00000000fe000000-0x00000000fe001000] uncached-minus".</summary>
    public static string? Find(string list, ulong physical)
    {
        string? found = null;
        foreach (string line in list.Split('\n'))
        {
            int open = line.IndexOf("[mem ", StringComparison.Ordinal);
            int close = line.IndexOf(']', open + 1);
            if (open < 0 || close < 0) continue;
            string[] range = line[(open + 5)..close].Split('-');
            if (range.Length != 2 || !TryHex(range[0], out ulong start) || !TryHex(range[1], out ulong end)) continue;
            if (physical >= start && physical < end) found = line[(close + 1)..].Trim();
        }
        return found;
    }

    private static bool TryHex(string text, out ulong value)
    {
        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) text = text[2..];
        return ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
