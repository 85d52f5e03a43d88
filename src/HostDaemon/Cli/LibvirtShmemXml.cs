using System.Text;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary>
/// libvirt's &lt;shmem&gt; element for a region (docs/configuration.md, "The libvirt shmem element").
/// libvirt turns it into the same -chardev/-device pair as <see cref="QemuArguments"/>: a plain client
/// socket (no server, no reconnect) with <c>ioeventfd=on</c> and the given vectors. No &lt;size&gt;: for a
/// doorbell device the server decides the size, and libvirt does not pass it. No role: without one
/// QEMU's default (master=off) applies, as for every peer of a shared region.
/// </summary>
public static class LibvirtShmemXml
{
    public static string For(RegionOptions region)
    {
        var xml = new StringBuilder();
        xml.Append("<shmem name='").Append(Escape(region.Name)).Append("'>\n");
        xml.Append("  <model type='ivshmem-doorbell'/>\n");
        xml.Append("  <server path='").Append(Escape(region.SocketPath)).Append("'/>\n");
        xml.Append("  <msi vectors='").Append(region.Vectors).Append("' ioeventfd='on'/>\n");
        xml.Append("</shmem>\n");
        return xml.ToString();
    }

    /// <summary>Attribute values are in single quotes, so escape those as well as the XML specials.</summary>
    private static string Escape(string value) =>
        value.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("'", "&apos;").Replace("\"", "&quot;");
}
