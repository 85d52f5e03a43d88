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
        var command = new Command("qemu-args", Page.Summary) { vm, config, demo, format };
        ConfigFileOption.ExcludeEachOther(command, config, demo, "--demo prints the options for the built-in configuration");
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
            foreach (var region in regions)
            {
                var arguments = QemuArguments.For(region);
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
        Synopsis = ["ivshmemd qemu-args VM [--config FILE | --demo DIR] [--format shell|lines]"],
        Description =
        [
            "Prints, for every region whose 'vms' list names VM (in file order), the two QEMU options that give the VM an ivshmem-doorbell device served by ivshmemd:",
            "  -chardev socket,id=ivshmem-REGION,path=SOCKET\n  -device ivshmem-doorbell,chardev=ivshmem-REGION,vectors=N",
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
            new("ivshmemd qemu-args web --config ./test.yaml",
                "Use another configuration."),
            new("ivshmemd qemu-args vm-a --demo /tmp/ivshmemd-demo",
                "The options for VM 'vm-a' of a daemon started with 'ivshmemd run --demo /tmp/ivshmemd-demo'."),
        ],
        SeeAlso = ["ivshmemd libvirt-xml --help", "qemu-system-x86_64(1)"],
    };
}
