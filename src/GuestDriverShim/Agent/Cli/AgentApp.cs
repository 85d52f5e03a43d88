using System.CommandLine;
using System.CommandLine.Invocation;
using Ivshmem.Agent.Protocol;
using Ivshmem.Agent.Transfer;
using Ivshmem.Peer.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary>
/// The <c>ivshmem-agent</c> command line: builds the commands, parses, runs one, and turns what went
/// wrong into one line on standard error and an exit status (<see cref="ExitCodes"/>).
/// </summary>
internal static class AgentApp
{
    public const string ProgramName = "ivshmem-agent";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        RootCommand root = Build();
        ParseResult result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Action is ParseErrorAction)
        {
            CommandLineShell.WriteUsageErrors(ProgramName, result, error);
            return ExitCodes.Usage;
        }
        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        string command = CommandPath(result.CommandResult.Command);
        try
        {
            return await result.InvokeAsync(invocation, cancellationToken);
        }
        catch (Exception e)
        {
            (int code, string message) = Classify(e);
            error.WriteLine($"{command}: {message}");
            return code;
        }
    }

    /// <summary>Which exit status an exception means, and how to say it.</summary>
    internal static (int Code, string Message) Classify(Exception e) => e switch
    {
        PeerGoneException => (ExitCodes.PeerGone, e.Message),
        ChecksumMismatchException => (ExitCodes.ChecksumMismatch, "checksum mismatch: " + e.Message),
        OperationCanceledException => (ExitCodes.Failure, "interrupted"),
        TimeoutException => (ExitCodes.Failure, "timed out: " + e.Message),
        IvshmemDeviceException or IvshmemException or ProtocolException or PeerAbortedException or IOException or ArgumentException or FormatException => (ExitCodes.Failure, "error: " + e.Message),
        UnauthorizedAccessException => (ExitCodes.Failure, "error: " + e.Message),
        _ => (ExitCodes.Failure, "internal error: " + e),
    };

    internal static RootCommand Build()
    {
        var root = new RootCommand(RootPage.Summary);
        foreach (Option option in new Option[] { CommonOptions.Device, CommonOptions.Socket, CommonOptions.PeerName, CommonOptions.Vectors, CommonOptions.Access, CommonOptions.Map, CommonOptions.Bind, CommonOptions.Quiet })
            root.Add(option);
        var (net, netPage, netStatus, netStatusPage) = NetCommand.Create();
        CommandLineShell.AddCommands(root, ProgramName, RootPage, ExitCodes.Usage,
        [
            ListCommand.Create(),
            InfoCommand.Create(),
            SendCommand.Create(),
            RecvCommand.Create(),
            MeasureCommands.CreatePing(),
            MeasureCommands.CreateBench(),
            ForwardCommand.Create(),
            (net, netPage),
        ], [(netStatus, netStatusPage)]);
        return root;
    }

    internal static string CommandPath(Command command) => CommandLineShell.CommandPath(ProgramName, command);

    private static readonly ManPage RootPage = new()
    {
        Summary = "move data between VMs (and host processes) through ivshmem shared memory",
        Synopsis =
        [
            "ivshmem-agent list [--devices]",
            "ivshmem-agent info [--measure]",
            "ivshmem-agent send FILE|- --to PEER",
            "ivshmem-agent recv --from PEER [-o FILE]",
            "ivshmem-agent ping --to PEER | --serve --from PEER",
            "ivshmem-agent bench --to PEER | --serve --from PEER",
            "ivshmem-agent forward --listen ADDR --to PEER | --connect ADDR --from PEER",
            "ivshmem-agent net [--address ADDR]... | net status",
            "ivshmem-agent COMMAND --help",
        ],
        Description =
        [
            "ivshmem-agent runs inside a VM that has an ivshmem-doorbell device served by ivshmemd (see 'ivshmemd qemu-args'), or on the host as a peer of the same region (--socket). It finds the device in sysfs, maps its shared memory, and talks to the other peers of the region through one ring per direction per pair of peers, with doorbell interrupts to wake the other side instead of polling.",
            "Peers are named as the region's peer table names them: a VM by its QEMU -name, a host process by the name it chose (--peer-name) or host:USER:PID; a numeric ivshmem id works too. 'list' shows them.",
            "In a VM, doorbell interrupts need VFIO: the device bound to vfio-pci (--bind does it; the VM needs an IOMMU, QEMU's intel-iommu) and the agent run as root. Without VFIO the agent maps the device through sysfs and polls: it works, and burns a CPU while it waits. No kernel module beyond the stock vfio-pci is needed.",
            "Only one program at a time can hold a device through VFIO; run one ivshmem-agent per VM at a time.",
        ],
        ExitStatus =
        [
            new("0", "Success."),
            new("1", "Failure; the reason is on standard error."),
            new("2", "Usage error."),
            new("3", "The peer left during the operation, or this side's device is being unplugged."),
            new("4", "A transfer's checksum did not match."),
        ],
        Files =
        [
            new("/sys/bus/pci/devices/*", "Where the device is found (vendor 0x1af4, device 0x1110)."),
            new("/dev/vfio/vfio, /dev/vfio/N", "The VFIO container and the device's IOMMU group."),
            new("/sys/kernel/debug/x86/pat_memtype_list", "Read by 'info' to tell the cache mode of the mapping, when debugfs is mounted."),
        ],
        Examples =
        [
            new("ivshmem-agent --bind list", "Bind the device to vfio-pci and show the peers."),
            new("ivshmem-agent send big.iso --to vm-b", "On vm-a; and 'ivshmem-agent recv --from vm-a -o big.iso' on vm-b."),
            new("ivshmem-agent --socket /run/ivshmemd/web-db.sock --peer-name loader send dump.sql --to db", "From a host process, as peer 'loader' of region web-db."),
        ],
        SeeAlso = ["ivshmem-agent COMMAND --help", "ivshmemd(8)", "docs/guest.md"],
    };
}
