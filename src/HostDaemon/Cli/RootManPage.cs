using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary>The man page of <c>ivshmemd --help</c>: what the program is, and how the commands fit together.</summary>
internal static class RootManPage
{
    public static readonly ManPage Page = new()
    {
        Summary = "shared memory between co-resident QEMU/KVM virtual machines",
        Synopsis =
        [
            "ivshmemd run [--config FILE | --demo DIR]",
            "ivshmemd check-config [FILE]",
            "ivshmemd qemu-args VM [--config FILE | --demo DIR] [--format shell|lines] [--no-device | --no-hotplug]",
            "ivshmemd libvirt-xml VM [--config FILE]",
            "ivshmemd status [--socket PATH] [--json]",
            "ivshmemd attach VM (--qmp SOCKET | --libvirt[=URI]) [--region REGION] [--config FILE]",
            "ivshmemd detach VM (--qmp SOCKET | --libvirt[=URI]) [--region REGION] [--config FILE]",
            "ivshmemd doctor [--config FILE] [--vm NAME] [--qemu PATH]",
            "ivshmemd COMMAND --help",
        ],
        Description =
        [
            "ivshmemd is an ivshmem server. For every region named in its configuration it creates one shared memory region and listens on a UNIX socket; each QEMU with an ivshmem-doorbell device on that socket, and each admitted host process, receives the memory and one eventfd per doorbell vector for every other peer. It speaks the protocol of QEMU's contrib/ivshmem-server, so unmodified QEMU and libvirt connect to it.",
            "Once a peer holds its memory and eventfds, data moves between peers without the daemon: restarting ivshmemd does not interrupt a transfer. Under systemd the connections themselves wait in the file descriptor store and are resumed by the restarted daemon, so VMs also learn of peers that join later. Without the store QEMU cannot reconnect: a VM that was running keeps its region and doorbells but learns of no new peers until it is restarted.",
            "The configuration (YAML) says which VMs pair on which region. VMs are identified by their QEMU -name, read from /proc of the process that connects. Normally systemd runs 'ivshmemd run' as ivshmemd.service; the other commands help to check the configuration and to wire VMs to it.",
        ],
        ExitStatus =
        [
            .. StandardExitStatus("success", "failure: an unknown VM, a region or socket that could not be set up, or a daemon error; the reason is on standard error"),
            new(Code(ExitCodes.Refused), "attach refused: the QEMU process already lost an ivshmem device, and QEMU 7.2 would crash."),
            new(Code(ExitCodes.Unavailable), "EX_UNAVAILABLE: status or attach found no daemon answering on the control socket; attach or detach found no VM answering on its QMP socket."),
            new(Code(ExitCodes.TemporaryFailure), "EX_TEMPFAIL: detach: the guest did not release a device in time."),
            new(Code(ExitCodes.NoPermission), "EX_NOPERM: no permission to connect to the control socket or the QMP socket."),
            ConfigExitStatus("the configuration is not valid or cannot be read (run, check-config, qemu-args, libvirt-xml)"),
        ],
        Environment =
        [
            new("RUNTIME_DIRECTORY", $"Set by systemd from RuntimeDirectory=; the default runtime directory when the configuration gives none (otherwise {DefaultPaths.RuntimeDirectory})."),
        ],
        Files =
        [
            new(DefaultPaths.ConfigFile, "The configuration (see 'ivshmemd check-config --help', and docs/configuration.md for every key)."),
            new(DefaultPaths.RuntimeDirectory + "/", "Region sockets (<region>.sock) and the control socket (control.sock)."),
        ],
        Examples =
        [
            new("ivshmemd check-config /etc/ivshmemd/ivshmemd.yaml", "Check a configuration before (re)loading it."),
            new("qemu-system-x86_64 ... $(ivshmemd qemu-args web)", "Start the VM named 'web' with a device for each of its regions."),
            new("systemctl reload ivshmemd", "Apply a changed configuration: new regions appear, removed idle regions go away."),
            new("ivshmemd status", "Show regions and connected peers of the running daemon."),
            new("ivshmemd detach web --qmp /run/web.qmp", "Take VM 'web''s devices out, before a live migration."),
        ],
        SeeAlso = ["ivshmemd COMMAND --help", "docs/configuration.md", "qemu-system-x86_64(1)", "systemd.service(5)"],
    };

    /// <summary>The three exit codes every command shares, worded for one command.</summary>
    public static IReadOnlyList<ManEntry> StandardExitStatus(string ok, string failure) =>
    [
        new(Code(ExitCodes.Ok), Capitalized(ok) + "."),
        new(Code(ExitCodes.Failure), Capitalized(failure) + "."),
        new(Code(ExitCodes.Usage), "Usage error: unknown command or option, missing or extra argument; nothing was done."),
    ];

    /// <summary>Exit status 78 (EX_CONFIG), worded for one command.</summary>
    public static ManEntry ConfigExitStatus(string text) => new(Code(ExitCodes.Config), "EX_CONFIG: " + text + ".");

    public static string Code(int exitCode) => exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
