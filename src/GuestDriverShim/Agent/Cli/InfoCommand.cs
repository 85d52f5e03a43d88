using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ivshmem.Peer;
using Ivshmem.Peer.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary><c>ivshmem-agent info</c>: the device, how it is mapped, and the region in it.</summary>
internal static class InfoCommand
{
    public static (Command, ManPage) Create()
    {
        var measure = new Option<bool>("--measure") { Description = "Also time reading the whole shared memory through this mapping, against reading ordinary memory of the same size (reads only: nothing in the region changes)." };
        var command = new Command("info", Page.Summary) { measure };
        command.SetAction((parse, ct) =>
        {
            var context = new AgentContext(parse);
            using IvshmemEndpoint endpoint = context.OpenEndpoint();
            TextWriter o = context.Output;
            if (endpoint is GuestDevice device)
            {
                IvshmemDeviceInfo d = device.Info;
                Line(o, "device", $"{d.Address} ivshmem-{d.Kind.ToString().ToLowerInvariant()} (1af4:1110 rev {d.Revision})");
                for (int i = 0; i < 3; i++) Line(o, $"BAR{i}", d.Bar(i).Describe());
                Line(o, "driver", d.Driver ?? "none");
                Line(o, "IOMMU group", d.IommuGroup?.ToString(CultureInfo.InvariantCulture) ?? "none");
                Line(o, "access", device.Access == GuestAccess.Vfio
                    ? $"vfio ({device.Iommu switch { VfioIommuType.NoIommu => "no-IOMMU container", VfioIommuType.Type1 => "type1 container", _ => "type1v2 container" }})"
                    : "sysfs (no interrupts: this side polls)");
                Line(o, "registers", device.RegisterAccess);
                Line(o, "shared memory", device.Mapping.Describe());
                Line(o, "interrupts", device.HasInterrupts ? $"MSI-X, {device.VectorCount} vectors on eventfds (VFIO)" : "none (polling)");
            }
            Line(o, "own id", endpoint.OwnId.ToString(CultureInfo.InvariantCulture));
            Line(o, "vectors", $"{endpoint.VectorCount} (control {IvshmemEndpoint.ControlVector}, data {endpoint.DataVector})");
            RegionGeometry g = endpoint.Region.Geometry;
            Line(o, "region", $"layout v{RegionLayout.Version}, {Units.Bytes(g.RegionSize)}, {g.Slots} slots, {g.RingCount} rings of {Units.Bytes(g.RingCapacity)}, messages up to {Units.Bytes(g.MaxPayload)}, format id {endpoint.Region.FormatId:x16}");
            PeerEntry self = endpoint.Self;
            Line(o, "this side", $"slot {self.Slot}, '{self.Name}', epoch {self.Epoch}");
            if (parse.GetValue(measure)) Measure(o, endpoint.Region.Memory);
            return Task.FromResult(ExitCodes.Ok);
        });
        return (command, Page);
    }

    private static void Line(TextWriter o, string label, string value) => o.WriteLine($"{label + ":",-15} {value}");

    /// <summary>Reads the mapping in 64 KiB copies, best of three passes, and the same from private memory.</summary>
    private static void Measure(TextWriter o, SharedMemory memory)
    {
        long size = Math.Min(memory.Length, 64L << 20);
        byte[] sink = new byte[64 * 1024];
        byte[] ordinary = new byte[size];
        ordinary.AsSpan().Fill(1);
        double shared = Best(() =>
        {
            for (long off = 0; off < size; off += sink.Length)
                memory.Span(off, (int)Math.Min(sink.Length, size - off)).CopyTo(sink);
        });
        double plain = Best(() =>
        {
            for (long off = 0; off < size; off += sink.Length)
                ordinary.AsSpan((int)off, (int)Math.Min(sink.Length, size - off)).CopyTo(sink);
        });
        Line(o, "read speed", $"shared memory {Units.Rate(size / shared)}, ordinary memory {Units.Rate(size / plain)} ({Units.Bytes(size)}, best of 3)");
    }

    private static double Best(Action pass)
    {
        double best = double.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            long start = Stopwatch.GetTimestamp();
            pass();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return best;
    }

    private static readonly ManPage Page = new()
    {
        Summary = "describe the device, its mapping and the region",
        Synopsis = ["ivshmem-agent info [--measure] [--device BDF | --socket PATH] [--access auto|vfio|sysfs] [--map auto|device|devmem]"],
        Description =
        [
            "Opens the device the way the other commands would and prints what it found: the PCI address and BARs, the bound driver and IOMMU group, whether VFIO or sysfs is used, how BAR0 (the registers) is reached, how BAR2 (the shared memory) is mapped and which cache mode the kernel gave it, the MSI-X vectors, this side's ivshmem id, and the region's layout.",
            "The cache mode comes from the kernel's PAT table (/sys/kernel/debug/x86/pat_memtype_list), which is there only when debugfs is mounted (mount -t debugfs none /sys/kernel/debug). vfio-pci and sysfs resource2 map BARs uncached (UC-); /dev/mem without O_SYNC asks for write-back. Under KVM on Intel hosts the guest's cache mode is mostly ignored for this memory; under software emulation (TCG) it costs nothing either way; on AMD hosts an uncached mapping is really uncached and slow. --measure shows what it costs here.",
            "In host-peer mode (--socket) there is no PCI device; only the region part is printed.",
        ],
        ExitStatus = [new("0", "Printed."), new("1", "No device, or it cannot be opened (the message says why)."), new("2", "Usage error.")],
        Examples =
        [
            new("ivshmem-agent info --measure", "What the device is, and how fast reading the shared memory is through this mapping."),
            new("ivshmem-agent info --map devmem --measure", "The same through a write-back /dev/mem mapping, to compare."),
        ],
        SeeAlso = ["ivshmem-agent list --help", "docs/guest.md"],
    };
}
