using System.Globalization;
using System.Xml.Linq;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>A &lt;shmem&gt; element of a running domain: its name (the region), the alias libvirt gave
/// it (shmem0, ...; DEVICE_REMOVED reports this) and the element as libvirt wrote it.</summary>
internal sealed record LiveShmem(string Name, string? Alias, string Xml);

/// <summary>
/// What ivshmemd reads in a domain's live XML (virDomainGetXMLDesc): its &lt;shmem&gt; devices, and on a
/// q35 machine the PCIe root ports that are still empty, one of which a hot-plugged device needs
/// (docs/libvirt.md, "Hot-plug on q35").
/// </summary>
internal sealed class LiveDomainXml
{
    private static readonly XNamespace QemuNs = "http://libvirt.org/schemas/domain/qemu/1.0";
    private readonly XElement _root;

    private LiveDomainXml(XElement root) => _root = root;

    public static LiveDomainXml Parse(string xml) => new(XElement.Parse(xml));

    private IEnumerable<XElement> Devices => _root.Element("devices")?.Elements() ?? [];

    public IReadOnlyList<LiveShmem> Shmems =>
        Devices.Where(e => e.Name == "shmem")
            .Select(e => new LiveShmem((string?)e.Attribute("name") ?? "", (string?)e.Element("alias")?.Attribute("name"), e.ToString(SaveOptions.DisableFormatting)))
            .ToList();

    public LiveShmem? Shmem(string region) => Shmems.FirstOrDefault(s => s.Name == region);

    /// <summary>
    /// The index (PCI bus number) of an empty pcie-root-port that allows hot-plug (libvirt's
    /// &lt;target hotplug='off'/&gt; forbids it), or null when the domain has none. One whose
    /// prefetchable 64-bit window is reserved large enough (a qemu:override setting pref64-reserve on it, at
    /// least twice the BAR: docs/migration.md, "The root port") is preferred: without that window a guest
    /// cannot place a BAR2 larger than the firmware's default.
    /// </summary>
    public int? FreeRootPort(long barSize)
    {
        var used = new HashSet<int>();
        foreach (XElement address in Devices.Select(d => d.Element("address")).OfType<XElement>())
            if ((string?)address.Attribute("type") == "pci" && ParseNumber((string?)address.Attribute("bus")) is { } bus)
                used.Add(bus);
        var free = Devices
            .Where(d => d.Name == "controller" && (string?)d.Attribute("type") == "pci" && (string?)d.Attribute("model") == "pcie-root-port"
                && (string?)d.Element("target")?.Attribute("hotplug") != "off")
            .Select(d => (Index: ParseNumber((string?)d.Attribute("index")), Alias: (string?)d.Element("alias")?.Attribute("name")))
            .Where(p => p.Index is { } i && !used.Contains(i))
            .ToList();
        if (free.Count == 0) return null;
        return (free.FirstOrDefault(p => p.Alias is { } a && Pref64Reserve(a) >= 2 * barSize).Index ?? free[0].Index)!.Value;
    }

    /// <summary>The pref64-reserve a &lt;qemu:override&gt; sets on the device with <paramref name="alias"/>, or 0.</summary>
    public long Pref64Reserve(string alias)
    {
        XElement? device = _root.Element(QemuNs + "override")?.Elements(QemuNs + "device")
            .FirstOrDefault(d => (string?)d.Attribute("alias") == alias);
        XElement? property = device?.Element(QemuNs + "frontend")?.Elements(QemuNs + "property")
            .FirstOrDefault(p => (string?)p.Attribute("name") == "pref64-reserve");
        return long.TryParse((string?)property?.Attribute("value"), NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : 0;
    }

    /// <summary>libvirt writes bus numbers in hex ("0x01"), indexes in decimal.</summary>
    private static int? ParseNumber(string? text) =>
        text is null ? null
        : text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int hex) ? hex : null
            : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int dec) ? dec : null;
}
