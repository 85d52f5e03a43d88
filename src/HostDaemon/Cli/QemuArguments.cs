using System.Globalization;
using System.Numerics;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary>
/// The QEMU options that attach a VM to a region (docs/configuration.md, "QEMU options"): on a q35
/// machine a PCIe root port reserved for the region's device, the chardev, and the device on that
/// port; on i440fx (no root ports) only the chardev and the device. The chardev is a plain client
/// socket: never <c>server=on</c>, and never <c>reconnect=</c>, which hangs QEMU 7.2 at start-up
/// (realize reads from a socket that is not connected yet).
/// </summary>
public static class QemuArguments
{
    /// <summary>The chassis number of every root port ivshmemd prints. Each root port needs a
    /// (chassis, slot) pair of its own; people and libvirt number chassis from 1, so a high fixed
    /// number keeps ours apart (docs/configuration.md, "QEMU options").</summary>
    public const int RootPortChassis = 200;

    /// <summary>Slot numbers are 13 bits in the PCIe slot capability (physical slot number).</summary>
    internal const int MaxSlot = 8191;

    /// <summary>QEMU's chardev id for a region: ids allow letters, digits, '-', '.', '_', and region
    /// names are restricted to those, so the id needs no escaping.</summary>
    public static string ChardevId(RegionOptions region) => "ivshmem-" + region.Name;

    /// <summary>The device's id (QEMU keeps device and chardev ids apart, so it is the chardev's):
    /// what <c>device_del</c> names and <c>DEVICE_DELETED</c> reports.</summary>
    public static string DeviceId(RegionOptions region) => ChardevId(region);

    /// <summary>The id of the root port the region's device is plugged into.</summary>
    public static string RootPortId(RegionOptions region) => "ivshmem-rp-" + region.Name;

    /// <summary>What to print for one region.</summary>
    public enum Wiring
    {
        /// <summary>q35: the root port, the chardev and the device on the port.</summary>
        Hotpluggable,
        /// <summary>q35, the device to be attached later (a migration destination): the root port only.</summary>
        RootPortOnly,
        /// <summary>i440fx or no hot-plug wanted: the chardev and the device on the default bus.</summary>
        Plain,
    }

    /// <summary>The argv elements for one region, unquoted (as execve receives them).
    /// <paramref name="regionsOfVm"/> are all regions of the VM, in file order: the root ports'
    /// slot numbers are chosen among them (<see cref="RootPortSlot"/>).</summary>
    public static IReadOnlyList<string> For(RegionOptions region, IReadOnlyList<RegionOptions> regionsOfVm, Wiring wiring = Wiring.Hotpluggable)
    {
        string id = ChardevId(region);
        var arguments = new List<string>(6);
        if (wiring != Wiring.Plain)
            arguments.AddRange(["-device", RootPortOptions(region, regionsOfVm)]);
        if (wiring == Wiring.RootPortOnly)
            return arguments;
        arguments.AddRange(["-chardev", $"socket,id={id},path={EscapeOptionValue(region.SocketPath)}"]);
        string device = $"ivshmem-doorbell,id={DeviceId(region)},chardev={id},vectors={region.Vectors}";
        arguments.AddRange(["-device", wiring == Wiring.Plain ? device : device + ",bus=" + RootPortId(region)]);
        return arguments;
    }

    /// <summary>
    /// <c>pcie-root-port,id=ivshmem-rp-REGION,chassis=200,slot=S,pref64-reserve=SIZE</c>. A device
    /// hot-added behind a port that was empty at boot gets no room for its 64-bit prefetchable BAR2
    /// unless the port reserves it (docs/migration.md, "The root port").
    /// </summary>
    public static string RootPortOptions(RegionOptions region, IReadOnlyList<RegionOptions> regionsOfVm) =>
        $"pcie-root-port,id={RootPortId(region)},chassis={RootPortChassis},slot={RootPortSlot(region, regionsOfVm)}," +
        $"pref64-reserve={PrefetchableReserve(region.SizeBytes)}";

    /// <summary>The window a root port reserves for a region of <paramref name="sizeBytes"/>: twice the
    /// size rounded up to a power of two. A BAR must lie at a multiple of its size, and the firmware
    /// (SeaBIOS) aligns an empty port's window to far less, so a window of exactly the BAR's size
    /// usually cannot hold it; one of twice the size always holds an aligned block of the size.</summary>
    public static string PrefetchableReserve(long sizeBytes)
    {
        ulong bytes = 2 * BitOperations.RoundUpToPowerOf2((ulong)Math.Max(sizeBytes, 1));
        return bytes % (1UL << 30) == 0 ? $"{bytes >> 30}G"
            : bytes % (1UL << 20) == 0 ? $"{bytes >> 20}M"
            : bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The slot number of the region's root port: from a hash of the region's name, so it stays the
    /// same when regions are added, removed or reordered in the file (the ports of a migration's source
    /// and destination must match), 1..8191. Two regions of one VM that hash alike take the next free
    /// number, in file order.
    /// </summary>
    public static int RootPortSlot(RegionOptions region, IReadOnlyList<RegionOptions> regionsOfVm)
    {
        var taken = new HashSet<int>();
        foreach (RegionOptions other in regionsOfVm)
        {
            int slot = NameSlot(other.Name);
            while (!taken.Add(slot)) slot = slot % MaxSlot + 1;
            if (other.Name == region.Name) return slot;
        }
        return NameSlot(region.Name);
    }

    /// <summary>FNV-1a over the name's UTF-8 bytes, mapped onto 1..8191: stable across runs and
    /// platforms (string.GetHashCode is randomized per process).</summary>
    private static int NameSlot(string name)
    {
        uint hash = 2166136261;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(name))
            hash = (hash ^ b) * 16777619;
        return (int)(hash % MaxSlot) + 1;
    }

    /// <summary>In a QEMU option string a ',' separates parameters; a literal comma is written ",,".</summary>
    public static string EscapeOptionValue(string value) => value.Replace(",", ",,");

    /// <summary>POSIX shell quoting: words of safe characters stay bare, anything else goes in single
    /// quotes (with ' written as '\'').</summary>
    public static string ShellQuote(string word)
    {
        if (word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "_@%+=:,./-".Contains(c)))
            return word;
        return "'" + word.Replace("'", "'\\''") + "'";
    }
}
