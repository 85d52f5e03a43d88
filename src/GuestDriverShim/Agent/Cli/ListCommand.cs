using System.CommandLine;
using System.Globalization;
using Ivshmem.Peer;
using Ivshmem.Peer.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary><c>ivshmem-agent list</c>: the region's peer table, or the ivshmem PCI devices.</summary>
internal static class ListCommand
{
    public static (Command, ManPage) Create()
    {
        var devices = new Option<bool>("--devices") { Description = "List the ivshmem PCI devices (from sysfs, without opening them) instead of the peers." };
        var waitFor = new Option<string>("--wait-for") { Description = "Wait until this peer (name or id) is present before listing.", HelpName = "PEER" };
        var wait = CommonOptions.Wait("for --wait-for", 30);
        var command = new Command("list", Page.Summary) { devices, waitFor, wait };
        command.SetAction((parse, ct) =>
        {
            var context = new AgentContext(parse);
            if (parse.GetValue(devices))
            {
                PrintDevices(context.Output, PciDiscovery.FindIvshmemDevices());
                return Task.FromResult(ExitCodes.Ok);
            }
            using IvshmemEndpoint endpoint = context.OpenEndpoint();
            if (parse.GetValue(waitFor) is { } peer)
                context.ResolvePeer(endpoint, peer, CommonOptions.Seconds(parse.GetValue(wait)), ct);
            PrintPeers(context.Output, endpoint);
            return Task.FromResult(ExitCodes.Ok);
        });
        return (command, Page);
    }

    internal static void PrintPeers(TextWriter output, IvshmemEndpoint endpoint)
    {
        var rows = new List<string[]> { new[] { "SLOT", "ID", "STATE", "KIND", "NAME", "SINCE (UTC)" } };
        foreach (PeerEntry p in endpoint.Region.Peers.ReadAll())
        {
            if (p.State == PeerState.Free) continue;
            string kind = p.Kind switch { PeerKind.VirtualMachine => "vm", PeerKind.HostProcess => "host", _ => "?" };
            string name = p.Name + (p.IsPresent && p.PeerId == endpoint.OwnId ? " (this side)" : "");
            rows.Add([p.Slot.ToString(CultureInfo.InvariantCulture), p.PeerId.ToString(CultureInfo.InvariantCulture), p.State.ToString().ToLowerInvariant(), kind, name,
                p.Since.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)]);
        }
        Table(output, rows);
    }

    internal static void PrintDevices(TextWriter output, IReadOnlyList<IvshmemDeviceInfo> devices)
    {
        var rows = new List<string[]> { new[] { "DEVICE", "KIND", "MEMORY", "DRIVER", "IOMMU GROUP", "VECTORS" } };
        foreach (IvshmemDeviceInfo d in devices)
            rows.Add([d.Address.ToString(), d.Kind.ToString().ToLowerInvariant(), Units.Bytes(d.SharedMemorySize), d.Driver ?? "-",
                d.IommuGroup?.ToString(CultureInfo.InvariantCulture) ?? "-", d.MsixVectors?.ToString(CultureInfo.InvariantCulture) ?? "-"]);
        Table(output, rows);
    }

    internal static void Table(TextWriter output, List<string[]> rows)
    {
        int[] widths = new int[rows[0].Length];
        foreach (string[] row in rows)
            for (int i = 0; i < row.Length; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        foreach (string[] row in rows)
            output.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
    }

    private static readonly ManPage Page = new()
    {
        Summary = "show who is in the region (or which ivshmem devices there are)",
        Synopsis = ["ivshmem-agent list [--wait-for PEER [--wait SECONDS]] [--device BDF | --socket PATH]", "ivshmem-agent list --devices"],
        Description =
        [
            "Prints the region's peer table: for every slot that has been used, the ivshmem id (IVPosition in a VM; the doorbell target), whether the peer is present or gone, whether it is a VM or a host process, and its name: a VM's QEMU -name, or a host peer's name. Other commands take a peer by this name or id. The line of the peer running this command says '(this side)'.",
            "The daemon (ivshmemd) writes the table when peers join and leave; this command only reads it.",
            "With --devices, lists the ivshmem PCI devices (vendor 0x1af4, device 0x1110) in sysfs without opening them: address, kind (doorbell: served by ivshmemd, with MSI-X; plain: memory only), shared memory size, bound driver, IOMMU group and MSI-X vectors. This needs no root.",
        ],
        ExitStatus =
        [
            new("0", "Listed."),
            new("1", "No device, the device cannot be opened, or --wait-for timed out."),
            new("2", "Usage error."),
        ],
        Examples =
        [
            new("ivshmem-agent list", "Show the peers, for example:\n\n SLOT  ID  STATE    KIND  NAME              SINCE (UTC)\n 0     0   present  vm    vm-a (this side)  2025-01-01 10:00:00\n 1     1   present  vm    vm-b              2025-01-01 10:00:01"),
            new("ivshmem-agent list --devices", "Which ivshmem devices this VM has, and whether vfio-pci holds them."),
        ],
        SeeAlso = ["ivshmem-agent info --help", "ivshmemd status"],
    };
}
