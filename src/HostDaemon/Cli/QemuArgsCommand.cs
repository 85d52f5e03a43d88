using System.CommandLine;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary><c>ivshmemd qemu-args VM</c>: the -chardev/-device options for every region of a VM.</summary>
internal static class QemuArgsCommand
{
    public static (Command, ManPage) Create()
    {
        var vm = VmArgument.Create("The VM's name: the value of QEMU's -name (guest=) option, as listed under 'vms' in the configuration.");
        var config = ConfigFileOption.Create();
        var demo = ConfigFileOption.CreateDemo("Instead of a file, use the built-in demo configuration that 'ivshmemd run --demo DIR' serves (region 'demo' for VMs 'vm-a' and 'vm-b', its socket in DIR); used by scripts/demo --vm.");
        var format = new Option<string>("--format", "-f")
        {
            Description = "'shell': one line per region, each word quoted for a POSIX shell where needed. 'lines': one argument per line, unquoted, for building an argv (mapfile, xargs -d '\\n').",
            HelpName = "shell|lines",
            DefaultValueFactory = _ => "shell",
        };
        format.AcceptOnlyFromAmong("shell", "lines");
        var noDevice = new Option<bool>("--no-device")
        {
            Description = "Print only the root ports, without the chardevs and devices: for a migration destination, or a VM started without its devices, to be attached later with 'ivshmemd attach'.",
        };
        var noHotplug = new Option<bool>("--no-hotplug")
        {
            Description = "Print the chardev and the device without a root port, on the machine's default bus: for the i440fx machine ('-M pc'), which has no PCIe root ports, or a VM whose device is never detached.",
        };
        var command = new Command("qemu-args", Page.Summary) { vm, config, demo, format, noDevice, noHotplug };
        ConfigFileOption.ExcludeEachOther(command, config, demo, "--demo prints the options for the built-in configuration");
        command.Validators.Add(result =>
        {
            if (result.GetValue(noDevice) && result.GetValue(noHotplug))
                result.AddError("--no-device and --no-hotplug exclude each other: without a device and without a root port there is nothing to print");
        });
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            string vmName = parseResult.GetRequiredValue(vm);
            DaemonOptions? options = ConfigFileOption.LoadOrReport(parseResult, config, demo, error, "ivshmemd qemu-args");
            if (options is null)
                return ConfigFileOption.LoadFailureExitCode(parseResult, demo);
            IReadOnlyList<RegionOptions> regions = VmArgument.RegionsOrReport(options, vmName, error, "ivshmemd qemu-args");
            if (regions.Count == 0)
                return ExitCodes.Failure;
            bool lines = parseResult.GetValue(format) == "lines";
            var wiring = parseResult.GetValue(noDevice) ? QemuArguments.Wiring.RootPortOnly
                : parseResult.GetValue(noHotplug) ? QemuArguments.Wiring.Plain
                : QemuArguments.Wiring.Hotpluggable;
            foreach (var region in regions)
            {
                var arguments = QemuArguments.For(region, regions, wiring);
                if (lines)
                    foreach (string argument in arguments)
                        output.WriteLine(argument);
                else
                    output.WriteLine(string.Join(' ', arguments.Select(QemuArguments.ShellQuote)));
            }
            return ExitCodes.Ok;
        });
        return (command, Page);
    }

    private static readonly ManPage Page = new()
    {
        Summary = "print the QEMU options that attach a VM to its regions",
        Synopsis = ["ivshmemd qemu-args VM [--config FILE | --demo DIR] [--format shell|lines] [--no-device | --no-hotplug]"],
        Description =
        [
            "Prints, for every region whose 'vms' list names VM (in file order), the QEMU options that give the VM an ivshmem-doorbell device served by ivshmemd, on a PCIe root port of its own so that 'ivshmemd detach' and 'ivshmemd attach' can take it out and put it back (around a live migration):",
            "  -device pcie-root-port,id=ivshmem-rp-REGION,chassis=200,\n          slot=S,pref64-reserve=SIZE\n  -chardev socket,id=ivshmem-REGION,path=SOCKET\n  -device ivshmem-doorbell,id=ivshmem-REGION,\n          chardev=ivshmem-REGION,vectors=N,bus=ivshmem-rp-REGION",
            "Root ports exist on the q35 machine only (-M q35). The port reserves SIZE, the region size rounded up to a power of two, for the device's memory BAR, so that a device added later fits. Chassis 200 is left alone by libvirt and by the usual hand-written numbering from 1; the slot number S (1-8191) comes from a hash of the region name, so it stays the same when the configuration changes around it. A migration's source and destination must get the same ports: print them from the same configuration. With --no-device only the root ports are printed (a migration destination, or a VM whose devices are attached later); with --no-hotplug only the chardev and the device, without a port (i440fx, -M pc).",
            "The chardev is a plain client socket. Do not add 'reconnect=': QEMU 7.2 then hangs at start-up at 100% CPU. QEMU connects once, at start-up, so ivshmemd must already be running; if the socket does not exist QEMU exits with 'Failed to connect'. There is no size option: the device takes the region's size from the daemon.",
            "Start the VM with '-name VM' (or libvirt's '-name guest=VM,...'), exactly as listed in the configuration: the daemon admits a QEMU by that name. The region's socket must be writable for the user QEMU runs as (see socket_mode and socket_group in the configuration).",
            "Commas in a socket path are doubled, as QEMU's option syntax requires.",
        ],
        ExitStatus =
        [
            .. RootManPage.StandardExitStatus("the options are on standard output",
                "no region admits VM (the VMs the configuration does name are on standard error), or the --demo directory cannot hold sockets"),
            RootManPage.ConfigExitStatus("the configuration file is not valid or cannot be read; every error is on standard error"),
        ],
        Files = [new(DefaultPaths.ConfigFile, "Read when --config is not given.")],
        Examples =
        [
            new("qemu-system-x86_64 -name web ... $(ivshmemd qemu-args web)",
                "Start VM 'web' with its devices (fine while no path needs quoting)."),
            new("mapfile -t ivshmem < <(ivshmemd qemu-args web --format lines)\nqemu-system-x86_64 -name web ... \"${ivshmem[@]}\"",
                "The same for any path, in bash."),
            new("qemu-system-x86_64 -name web ... -incoming tcp:0:4444 \\\n    $(ivshmemd qemu-args web --no-device)",
                "The destination of a live migration of 'web' (see 'ivshmemd attach --help')."),
            new("qemu-system-x86_64 -M pc -name web ... \\\n    $(ivshmemd qemu-args web --no-hotplug)",
                "An i440fx VM: the device without a root port (attach cannot put it back)."),
            new("ivshmemd qemu-args web --config ./test.yaml",
                "Use another configuration."),
            new("ivshmemd qemu-args vm-a --demo /tmp/ivshmemd-demo",
                "The options for VM 'vm-a' of a daemon started with 'ivshmemd run --demo /tmp/ivshmemd-demo'."),
        ],
        SeeAlso = ["ivshmemd attach --help", "ivshmemd detach --help", "ivshmemd libvirt-xml --help", "qemu-system-x86_64(1)"],
    };
}
