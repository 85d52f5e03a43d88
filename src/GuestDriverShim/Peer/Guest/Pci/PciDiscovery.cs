using System.Globalization;

namespace Ivshmem.Peer.Guest;

/// <summary>
/// Finds ivshmem devices (vendor 0x1af4, device 0x1110) in sysfs and reads what can be known without
/// opening them: address, BARs (from <c>resource</c>), bound driver, IOMMU group, MSI-X capability
/// (from <c>config</c>). Everything is read under a root directory, "/sys" normally, so tests lay out
/// a fake tree in a temporary directory.
/// </summary>
public static class PciDiscovery
{
    public const int IvshmemVendorId = 0x1af4;
    public const int IvshmemDeviceId = 0x1110;

    /// <summary>The ivshmem devices under <paramref name="sysfsRoot"/>/bus/pci/devices, by address.</summary>
    public static IReadOnlyList<IvshmemDeviceInfo> FindIvshmemDevices(string sysfsRoot = "/sys")
    {
        string devices = Path.Combine(sysfsRoot, "bus", "pci", "devices");
        if (!Directory.Exists(devices))
            throw new DirectoryNotFoundException($"{devices} does not exist: is sysfs mounted (mount -t sysfs sysfs /sys), and is this a machine with PCI?");
        var found = new List<IvshmemDeviceInfo>();
        foreach (string path in Directory.EnumerateFileSystemEntries(devices))
        {
            if (!PciAddress.TryParse(Path.GetFileName(path), out PciAddress address)) continue;
            if (ReadHex(Path.Combine(path, "vendor")) != IvshmemVendorId || ReadHex(Path.Combine(path, "device")) != IvshmemDeviceId) continue;
            found.Add(Describe(path, address));
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Address.ToString(), b.Address.ToString()));
        return found;
    }

    /// <summary>
    /// The device to use: the one at <paramref name="address"/> when given, otherwise the only ivshmem
    /// device there is. Throws <see cref="IvshmemDeviceException"/> saying what exists when that is
    /// not one device.
    /// </summary>
    public static IvshmemDeviceInfo Select(IReadOnlyList<IvshmemDeviceInfo> devices, string? address)
    {
        if (address is not null)
        {
            PciAddress wanted = PciAddress.Parse(address);
            return devices.FirstOrDefault(d => d.Address == wanted)
                ?? throw new IvshmemDeviceException($"no ivshmem device at {wanted}; {ListForMessage(devices)}");
        }
        return devices.Count switch
        {
            1 => devices[0],
            0 => throw new IvshmemDeviceException("no ivshmem device (PCI 1af4:1110) on this machine: does the VM have '-device ivshmem-doorbell,chardev=...'? ('ivshmemd qemu-args VM' prints the options)"),
            _ => throw new IvshmemDeviceException($"{devices.Count} ivshmem devices, choose one with --device: {string.Join(", ", devices.Select(d => $"{d.Address} ({d.Kind.ToString().ToLowerInvariant()}, {Units.Bytes(d.SharedMemorySize)})"))}"),
        };
    }

    /// <summary>Reads one device directory.</summary>
    public static IvshmemDeviceInfo Describe(string path, PciAddress address)
    {
        IReadOnlyList<PciBar> bars = ParseResources(ReadText(Path.Combine(path, "resource")) ?? "");
        string? driver = LinkName(Path.Combine(path, "driver"));
        string? group = LinkName(Path.Combine(path, "iommu_group"));
        int? groupNumber = int.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out int g) ? g : null;
        byte[] config = ReadBytes(Path.Combine(path, "config"), 4096);
        var (hasMsix, vectors) = FindMsix(config);
        int revision = ReadHex(Path.Combine(path, "revision")) ?? (config.Length > 8 ? config[8] : 0);
        return new IvshmemDeviceInfo(address, path, bars, driver, groupNumber, vectors, hasMsix, revision);
    }

    /// <summary>Parses a sysfs <c>resource</c> file: one "0xSTART 0xEND 0xFLAGS" line per resource,
    /// BAR0..BAR5 first.</summary>
    public static IReadOnlyList<PciBar> ParseResources(string text)
    {
        var bars = new List<PciBar>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (bars.Count == 6) break;
            string[] columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length < 3 || !TryHex64(columns[0], out ulong start) || !TryHex64(columns[1], out ulong end) || !TryHex64(columns[2], out ulong flags))
                throw new FormatException($"unexpected line in a PCI resource file: '{line}' (expected three hexadecimal numbers)");
            bars.Add(new PciBar(bars.Count, start, end, (long)flags));
        }
        return bars;
    }

    /// <summary>
    /// Walks the capability list of a config space dump. Returns (null, null) when the dump is too
    /// short to tell (an unprivileged reader gets only the first 64 bytes), (false, null) when there is
    /// no MSI-X capability, (true, table size) when there is. A malformed list (a loop, a pointer into
    /// the header) ends the walk.
    /// </summary>
    public static (bool? HasMsix, int? Vectors) FindMsix(ReadOnlySpan<byte> config)
    {
        if (config.Length < 64) return (null, null);
        int status = config[Interop.PCI_STATUS] | (config[Interop.PCI_STATUS + 1] << 8);
        if ((status & Interop.PCI_STATUS_CAP_LIST) == 0) return (false, null);
        int pointer = config[Interop.PCI_CAPABILITY_LIST] & 0xFC;
        if (pointer != 0 && config.Length < 256) return (null, null);
        for (int hops = 0; pointer >= 0x40 && pointer + 3 < config.Length && hops < 48; hops++)
        {
            if (config[pointer] == Interop.PCI_CAP_ID_MSIX)
            {
                int control = config[pointer + Interop.PCI_MSIX_FLAGS] | (config[pointer + Interop.PCI_MSIX_FLAGS + 1] << 8);
                return (true, (control & Interop.PCI_MSIX_FLAGS_QSIZE) + 1);
            }
            pointer = config[pointer + 1] & 0xFC;
        }
        return (false, null);
    }

    internal static string? ReadText(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The name a symlink points to (its last component), or null when it is not there.</summary>
    internal static string? LinkName(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.LinkTarget is { } target ? Path.GetFileName(target.TrimEnd('/')) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Reads up to <paramref name="max"/> bytes; sysfs files may return fewer than their size
    /// says (config space: 64 bytes for an unprivileged reader).</summary>
    private static byte[] ReadBytes(string path, int max)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            byte[] buffer = new byte[max];
            int total = 0;
            while (total < max)
            {
                int n = stream.Read(buffer, total, max - total);
                if (n == 0) break;
                total += n;
            }
            return buffer[..total];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    private static int? ReadHex(string path)
    {
        string? text = ReadText(path)?.Trim();
        if (text is null) return null;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) text = text[2..];
        return int.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value) ? value : null;
    }

    private static bool TryHex64(string text, out ulong value)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) text = text[2..];
        return ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static string ListForMessage(IReadOnlyList<IvshmemDeviceInfo> devices) =>
        devices.Count == 0 ? "there are none" : "there are: " + string.Join(", ", devices.Select(d => d.Address.ToString()));
}
