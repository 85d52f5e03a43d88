using System.CommandLine;
using System.CommandLine.Parsing;
using Ivshmem.Peer.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary>Options that several commands share, each defined once.</summary>
internal static class CommonOptions
{
    // Where the region comes from: these are on the root command and apply to every command.
    public static readonly Option<string> Device = new("--device", "-d")
    {
        Description = "The ivshmem device to use, by PCI address (as in /sys/bus/pci/devices, e.g. 0000:00:03.0). Default: the only ivshmem device (PCI 1af4:1110) there is.",
        HelpName = "BDF",
        Recursive = true,
    };

    public static readonly Option<string> Socket = new("--socket", "-S")
    {
        Description = "Host-peer mode: instead of a PCI device, connect to ivshmemd's region socket as QEMU does, and take part in the region as a host process (the region must list this user under host_users).",
        HelpName = "PATH",
        Recursive = true,
    };

    public static readonly Option<string> PeerName = new("--peer-name")
    {
        // Not "--name": ivshmemd takes a process with "--name X" in its argv for QEMU's VM X.
        Description = "Host-peer mode: the name this process takes in the peer table (letters, digits, - _ .). Default: the daemon's host:USER:PID.",
        HelpName = "NAME",
        Recursive = true,
    };

    public static readonly Option<int> Vectors = new("--vectors")
    {
        Description = "Host-peer mode: the region's doorbell vectors (its 'vectors' setting in the daemon's configuration). Like QEMU's vectors=, a client must know it.",
        HelpName = "N",
        DefaultValueFactory = _ => 2,
        Recursive = true,
    };

    public static readonly Option<GuestAccess> Access = new("--access")
    {
        Description = "How to reach the device. vfio: through vfio-pci, with MSI-X doorbell interrupts (needs root; the device must be bound to vfio-pci, see --bind). sysfs: the sysfs resource files, no interrupts, so this side polls (needs root). auto: vfio if the device is bound to vfio-pci (or --bind is given), sysfs otherwise.",
        HelpName = "auto|vfio|sysfs",
        Recursive = true,
        CustomParser = r => ParseEnum<GuestAccess>(r, "auto, vfio or sysfs"),
    };

    public static readonly Option<SharedMemoryMapping> Map = new("--map")
    {
        Description = "How to map the shared memory (BAR2). device: through the device's own interface (the VFIO device fd, or sysfs resource2); both are uncached. devmem: /dev/mem, write-back cached where the kernel allows it (not under lockdown, and not once a driver claimed the BAR). auto: device with VFIO; with sysfs, devmem if allowed, else resource2. 'info' shows what the kernel gave.",
        HelpName = "auto|device|devmem",
        Recursive = true,
        CustomParser = r => ParseEnum<SharedMemoryMapping>(r, "auto, device or devmem"),
    };

    public static readonly Option<bool> Bind = new("--bind")
    {
        Description = "Bind the device to vfio-pci first (driver_override, unbind, drivers_probe; loads vfio_iommu_type1 and vfio-pci if needed). Needs root, and an IOMMU in the VM (QEMU: -device intel-iommu,caching-mode=on; guest: intel_iommu=on).",
        Recursive = true,
    };

    public static readonly Option<bool> Quiet = new("--quiet", "-q")
    {
        Description = "No progress line and no notes on standard error; errors and results are still printed.",
        Recursive = true,
    };

    // Per-command options.
    public static Option<string> To(string what) => new("--to")
    {
        Description = $"The peer {what}: its name in the region's peer table (a VM's name, a host peer's name) or its numeric ivshmem id ('list' shows them).",
        HelpName = "PEER",
    };

    public static Option<string> From(string what) => new("--from")
    {
        Description = $"The peer {what}: its name in the peer table or its numeric id.",
        HelpName = "PEER",
    };

    public static Option<double> Wait(string what, double @default) => new("--wait")
    {
        Description = $"How long to wait, in seconds, {what}. 0 waits forever.",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => @default,
    };

    public static Option<double> Timeout() => new("--timeout")
    {
        Description = "How long a running transfer may stall, in seconds, before the command gives up: the peer neither reads nor writes, although its VM is still there. A peer that leaves is noticed at once, whatever this says. 0: no limit.",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => 60,
    };

    public static Option<WaitMode> WaitModeOption(WaitMode @default) => new("--wait-mode")
    {
        Description = "How this side waits for the peer. block: sleep until the doorbell interrupt (every message costs a doorbell). spin: spin 50 us, then sleep. poll: never sleep (one CPU busy). With sysfs access there are no interrupts: the waits poll whatever this says.",
        HelpName = "block|spin|poll",
        DefaultValueFactory = _ => @default,
        CustomParser = r => r.Tokens.Count == 0 ? @default : r.Tokens[0].Value switch
        {
            "block" => WaitMode.Block,
            "spin" => WaitMode.SpinThenBlock,
            "poll" => WaitMode.BusyPoll,
            string other => Error<WaitMode>(r, $"'{other}' is not a wait mode; use block, spin or poll"),
        },
    };

    /// <summary>A wait mode as --wait-mode writes it.</summary>
    public static string WaitModeName(WaitMode mode) => mode switch
    {
        WaitMode.Block => "block",
        WaitMode.BusyPoll => "poll",
        _ => "spin",
    };

    public static Option<long> SizeOption(string name, string description, long @default, string helpName = "SIZE") => new(name)
    {
        Description = description + " Bytes, or a number with K, M, G (powers of 1024).",
        HelpName = helpName,
        DefaultValueFactory = _ => @default,
        CustomParser = r => r.Tokens.Count == 0 ? @default
            : ByteSize.TryParse(r.Tokens[0].Value, out long bytes, out _) && bytes > 0 ? bytes
            : Error<long>(r, $"'{r.Tokens[0].Value}' is not a size; write bytes or a number with K, M, G, e.g. 64M"),
    };

    public static TimeSpan Seconds(double seconds) =>
        seconds <= 0 ? System.Threading.Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);

    private static T ParseEnum<T>(ArgumentResult r, string valid) where T : struct, Enum
    {
        if (r.Tokens.Count == 0) return default;
        string text = r.Tokens[0].Value;
        return Enum.TryParse(text, ignoreCase: true, out T value) && !int.TryParse(text, out _)
            ? value
            : Error<T>(r, $"'{text}' is not valid for {r.Parent?.Tokens.FirstOrDefault()?.Value ?? "this option"}; use {valid}");
    }

    private static T Error<T>(ArgumentResult r, string message)
    {
        r.AddError(message);
        return default!;
    }
}
