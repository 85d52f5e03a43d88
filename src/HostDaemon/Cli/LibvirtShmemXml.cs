using System.Globalization;
using System.Text;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary>
/// libvirt's &lt;shmem&gt; element for a region (docs/configuration.md, "The libvirt shmem element").
/// libvirt turns it into the same -chardev/-device pair as <see cref="QemuArguments"/>: a plain client
/// socket (no server, no reconnect) with <c>ioeventfd=on</c> and the given vectors. No &lt;size&gt;: for a
/// doorbell device the server decides the size, and libvirt does not pass it. No role: without one
/// QEMU's default (master=off) applies, as for every peer of a shared region. With a PCI bus, an
/// &lt;address&gt; on slot 0 of that bus: on q35 a device hot-plugged into a running domain must name an
/// empty pcie-root-port, as libvirt places a &lt;shmem&gt; only on conventional PCI slots by itself
/// (docs/libvirt.md, "Hot-plug on q35").
/// </summary>
public static class LibvirtShmemXml
{
    public static string For(RegionOptions region, int? pciBus = null)
    {
        var xml = new StringBuilder();
        xml.Append("<shmem name='").Append(Escape(region.Name)).Append("'>\n");
        xml.Append("  <model type='ivshmem-doorbell'/>\n");
        xml.Append("  <server path='").Append(Escape(region.SocketPath)).Append("'/>\n");
        xml.Append("  <msi vectors='").Append(region.Vectors).Append("' ioeventfd='on'/>\n");
        if (pciBus is { } bus)
            xml.Append("  <address type='pci' domain='0x0000' bus='0x").Append(bus.ToString("x2", CultureInfo.InvariantCulture)).Append("' slot='0x00' function='0x0'/>\n");
        xml.Append("</shmem>\n");
        return xml.ToString();
    }

    /// <summary>Attribute values are in single quotes, so escape those as well as the XML specials.</summary>
    private static string Escape(string value) =>
        value.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("'", "&apos;").Replace("\"", "&quot;");
}
