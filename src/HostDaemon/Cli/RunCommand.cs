using System.CommandLine;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Hosting;

namespace Ivshmem.Daemon.Cli;

/// <summary><c>ivshmemd run</c>: validate the configuration, then hand over to the daemon.</summary>
internal static class RunCommand
{
    public static (Command, ManPage) Create()
    {
        var config = ConfigFileOption.Create();
        var demo = ConfigFileOption.CreateDemo("Ignore any configuration file and serve the built-in demo configuration with every socket in DIR (which must be writable; the daemon creates it if missing): one region 'demo' of 64 MiB (memfd, 2 vectors, at most 4 peers) for VMs 'vm-a' and 'vm-b' and for host processes of the current user. Runs without root; used by scripts/demo.");
        var command = new Command("run", Page.Summary) { config, demo };
        ConfigFileOption.ExcludeEachOther(command, config, demo, "--demo serves the built-in configuration");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            bool isDemo = parseResult.GetValue(demo) is not null;
            DaemonOptions? options = ConfigFileOption.LoadOrReport(parseResult, config, demo, error, "ivshmemd run");
            if (options is null)
            {
                if (!isDemo) await error.WriteLineAsync("ivshmemd run: not started: the configuration is not valid");
                return ConfigFileOption.LoadFailureExitCode(parseResult, demo);
            }
            // Absolute, so a reload reads the same file whatever the working directory is by then. The
            // demo configuration has no file to reload.
            string? configPath = isDemo ? null : Path.GetFullPath(parseResult.GetRequiredValue(config));
            return await DaemonEntryPoint.RunAsync(options, configPath, cancellationToken);
        });
        return (command, Page);
    }

    private static readonly ManPage Page = new()
    {
        Summary = "run the ivshmem server (what the systemd service starts)",
        Synopsis = ["ivshmemd run [--config FILE]", "ivshmemd run --demo DIR"],
        Description =
        [
            "Reads and validates the configuration; if it has any error, prints them all (as 'ivshmemd check-config' does) and exits without starting anything. Otherwise creates every region's memory, listens on every region's socket and on the control socket, and serves peers until stopped.",
            "Under systemd (Type=notify) it reports READY=1 once every socket listens, keeps STATUS= current with regions and peers, sends WATCHDOG=1 when WatchdogSec= is set, and reloads the configuration on SIGHUP (systemctl reload): new regions appear, removed regions without peers go away, regions with peers are left as they are. A configuration with errors is not applied on reload; the old one stays and the errors are logged and shown in the status. SIGTERM stops it cleanly: it stops accepting, removes the socket files, lets peers read what is still pending (at most 2 s) and closes its connections. Peers are not told that the others left, because they have not: running VMs keep their memory and the doorbells between them.",
            "Under systemd, region memory, eventfds and every peer connection are kept in the file descriptor store (FileDescriptorStoreMax=): a restarted daemon resumes each connection where the previous one stopped, so running VMs see peers that join afterwards as if nothing had happened. Without the store (a foreground run, systemctl stop then start, a crash outside systemd) the connections end with the daemon; running VMs keep the memory and the doorbells they have, but QEMU cannot reconnect: they see no peers that join afterwards until the VM is restarted (docs/protocol.md, 'What QEMU itself cannot do after a server restart').",
            "With 'libvirt: {follow: true}' in the configuration it also follows libvirt's domains: when a domain listed under a region's 'vms' starts on this host or arrives by migration while another domain of that region runs here, both get the region's device, hot-plugged through libvirt (the daemon's user must be allowed to manage them). libvirt being absent, stopped or restarted is logged and retried; it never stops the daemon. See docs/libvirt.md.",
            "It runs without root when every path in the configuration is writable by the user, which is how tests and the demo run it.",
        ],
        ExitStatus =
        [
            .. RootManPage.StandardExitStatus("stopped cleanly (SIGTERM or SIGINT)",
                "a region, socket or the control socket could not be set up (one line on standard error says which and why; the journal under systemd), or the daemon failed"),
            RootManPage.ConfigExitStatus("the configuration is not valid or cannot be read: nothing was started, every error is on standard error. The packaged unit sets RestartPreventExitStatus=78, so systemd does not restart a daemon that would fail the same way again"),
        ],
        Environment =
        [
            new("RUNTIME_DIRECTORY", $"Set by systemd's RuntimeDirectory=: where sockets go when the configuration sets no runtime_directory (default {DefaultPaths.RuntimeDirectory})."),
            new("NOTIFY_SOCKET, WATCHDOG_USEC", "Set by systemd for Type=notify and WatchdogSec=."),
        ],
        Files =
        [
            new(DefaultPaths.ConfigFile, "Read when neither --config nor --demo is given."),
            new(DefaultPaths.RuntimeDirectory + "/REGION.sock", "Default socket of each region."),
            new(DefaultPaths.ControlSocket, "Default control socket, read by 'ivshmemd status'."),
        ],
        Examples =
        [
            new("systemctl start ivshmemd", "The usual way: systemd runs 'ivshmemd run --config /etc/ivshmemd/ivshmemd.yaml'."),
            new("ivshmemd run --config ./ivshmemd.yaml", "Run in the foreground with another configuration (its paths must be writable)."),
            new("ivshmemd run --demo /tmp/ivshmemd-demo", "Run the built-in demo configuration as the current user."),
        ],
        SeeAlso = ["ivshmemd check-config --help", "ivshmemd status --help", "systemd.service(5)", "sd_notify(3)"],
    };
}
