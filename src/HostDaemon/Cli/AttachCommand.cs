using System.CommandLine;
using System.Text.RegularExpressions;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Cli;

/// <summary><c>ivshmemd attach VM</c>: adds a running VM's ivshmem devices (docs/migration.md, "Attach").</summary>
internal static partial class AttachCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public static (Command, ManPage) Create()
    {
        var options = new HotplugOptions("attach");
        return (options.CreateCommand("attach", Page.Summary, (request, parseResult, output, cancellationToken) =>
            RunAsync(options, request, parseResult, output, cancellationToken)), Page);
    }

    private static async Task RunAsync(HotplugOptions options, HotplugOptions.Request request, ParseResult parseResult, TextWriter output, CancellationToken cancellationToken)
    {
        string controlSocket = request.Options.ControlSocketPath;
        // The daemon first: it must serve the regions, and it knows which QEMU processes lost a device.
        StatusReport report = await AskDaemonAsync(controlSocket, cancellationToken);
        await using IVmHotplug vm = await options.OpenAsync(parseResult, request, cancellationToken);
        int pid = await vm.QemuPidAsync(cancellationToken);
        if (QemuProcessIdentity.Of(pid) is not { } qemu)
            throw new VmHotplugException($"{vm.Description}: cannot see QEMU's process (pid {pid}) here, so cannot check that it may take a device; run this in QEMU's PID namespace");
        if (report.UnpluggedQemu?.FirstOrDefault(u => u.Pid == qemu.Pid && u.StartTime == qemu.StartTime) is { } lost)
            throw Refusal(qemu.Pid, request.VmName, $"already lost an ivshmem device (region '{lost.Region}', peer {lost.PeerId}, at {lost.At:yyyy-MM-dd HH:mm:ss}Z)");

        foreach (RegionOptions region in request.Regions)
        {
            RegionReport served = report.Regions.FirstOrDefault(r => r.Name == region.Name)
                ?? throw new VmHotplugException($"the daemon at {controlSocket} does not serve region '{region.Name}' (is its configuration loaded? systemctl reload ivshmemd)");
            if (await vm.HasDeviceAsync(region, cancellationToken))
            {
                await output.WriteLineAsync($"{request.VmName}: region '{region.Name}': already attached (device {QemuArguments.DeviceId(region)}); nothing done");
                continue;
            }
            // Connected without its device: the device was deleted and its chardev kept. The process
            // lost the device all the same.
            if (served.Peers.Any(p => p.Pid == qemu.Pid))
                throw Refusal(qemu.Pid, request.VmName, $"has no device {QemuArguments.DeviceId(region)} but is still connected to region '{region.Name}': its device was removed without its chardev");
            if (WhyTheDaemonWouldRefuse(served, request.VmName) is { } reason)
                throw new VmHotplugException($"region '{region.Name}': {reason}; nothing was sent to QEMU");
            try
            {
                await vm.AttachAsync(region, cancellationToken);
            }
            catch (VmHotplugException e) when (RefusedByDaemon(e.Message) is { } hint)
            {
                throw new VmHotplugException($"{e.Message} ({hint})", e.ExitCode, e);
            }
            int peerId = await WaitForPeerAsync(controlSocket, region.Name, qemu.Pid, request.Timeout, cancellationToken)
                ?? throw new VmHotplugException($"{vm.Description}: QEMU took the device, but the daemon did not list VM '{request.VmName}' (pid {qemu.Pid}) in region '{region.Name}' within {request.Timeout.TotalSeconds:0.#} s; see the daemon's log (journalctl -u ivshmemd)");
            await output.WriteLineAsync($"{request.VmName}: region '{region.Name}': attached as peer {peerId} (QEMU pid {qemu.Pid}, device {QemuArguments.DeviceId(region)} on {QemuArguments.RootPortId(region)})");
        }
    }

    /// <summary>
    /// What the daemon's status says it would refuse. A QEMU whose new chardev the daemon refuses and
    /// closes before device_add reads it spins forever inside device_add (docs/migration.md, "Attach"),
    /// so these are checked before QEMU connects. The user checks (allow) are the daemon's alone.
    /// </summary>
    private static string? WhyTheDaemonWouldRefuse(RegionReport served, string vmName)
    {
        if (served.State == "retiring")
            return "the daemon is removing this region (it is no longer in its configuration)";
        if (served.Peers.FirstOrDefault(p => p.Name == vmName) is { } other)
            return $"another QEMU of VM '{vmName}' (pid {other.Pid}, peer {other.Id}) is still connected to it, and the daemon admits one per name; " +
                "in a migration on one host, detach the source first";
        if (served.Peers.Count >= served.MaxPeers)
            return $"it is full: all {served.MaxPeers} peer slots are taken (max_peers)";
        return null;
    }

    private static VmHotplugException Refusal(int pid, string vmName, string what) => new(
        $"QEMU process {pid} (VM '{vmName}') {what}. QEMU 7.2 crashes when an ivshmem-doorbell is added to a process that had one unplugged, " +
        "so nothing was sent to it. Attach in a new QEMU process: restart the VM, or migrate it and attach on the destination.",
        ExitCodes.Refused);

    private static async Task<StatusReport> AskDaemonAsync(string controlSocket, CancellationToken cancellationToken)
    {
        try
        {
            return await StatusClient.ReportAsync(controlSocket, cancellationToken);
        }
        catch (InvalidDataException e)
        {
            throw new VmHotplugException(e.Message);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ArgumentException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            (int exitCode, string message) = StatusClient.Explain(controlSocket, e, "is ivshmemd running, with the control_socket of this configuration (--config)?");
            throw new VmHotplugException(message, exitCode, e);
        }
    }

    /// <summary>The id the daemon gave the QEMU <paramref name="pid"/> in <paramref name="region"/>, once it lists it; null after the timeout.</summary>
    private static async Task<int?> WaitForPeerAsync(string controlSocket, string region, int pid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            StatusReport report = await AskDaemonAsync(controlSocket, cancellationToken);
            if (report.Regions.FirstOrDefault(r => r.Name == region)?.Peers.FirstOrDefault(p => p.Pid == pid) is { } peer)
                return peer.Id;
            if (Environment.TickCount64 >= deadline)
                return null;
            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>What a refusal code in QEMU's "server sent version N, expecting 0" means (docs/protocol.md, "Refusal").</summary>
    private static string? RefusedByDaemon(string message) =>
        RefusalVersion().Match(message) is { Success: true } match
            ? match.Groups[1].Value switch
            {
                "1" => "the daemon did not admit the VM: check the region's vms and allow; its log says why",
                "2" => "the region is full: all max_peers slots are taken",
                "3" => "a VM of this name is still connected to the region; in a migration on one host, detach the source first",
                "4" => "the region has no peer id left",
                "5" => "the region is being removed by a reload",
                _ => null,
            }
            : null;

    [GeneratedRegex(@"server sent version (\d+), expecting 0")]
    private static partial Regex RefusalVersion();

    private static readonly ManPage Page = new()
    {
        Summary = "add a running VM's ivshmem devices (hot-plug)",
        Synopsis = ["ivshmemd attach VM (--qmp SOCKET | --libvirt[=URI]) [--region REGION] [--config FILE] [--timeout SECONDS]"],
        Description =
        [
            "Adds to the running VM, for every region whose 'vms' list names VM (or only REGION), the ivshmem-doorbell device that 'ivshmemd qemu-args' would have given it at start-up, and waits until the daemon lists the VM as a peer of the region. Used after a live migration, on the destination, or for a VM started without its devices ('ivshmemd qemu-args --no-device').",
            "With --qmp, a plain QEMU is driven through its QMP socket: 'chardev-add' of a client socket to the region's socket, then 'device_add' of the device (id ivshmem-REGION) on the VM's root port ivshmem-rp-REGION. The VM must have been started with that root port (the q35 machine; 'ivshmemd qemu-args' prints it). With --libvirt the domain's <shmem> element is attached through libvirt.",
            "Before anything is sent to QEMU, the running daemon is asked (on the control socket of the configuration) whether this QEMU process already lost an ivshmem device: QEMU 7.2 crashes when one is added to a process that had one unplugged, so attach then refuses (exit status 3). The daemon remembers such processes by pid and start time, also across its own restarts.",
            "A region whose device the VM already has is reported and left alone (exit status 0).",
        ],
        ExitStatus =
        [
            .. RootManPage.StandardExitStatus("the VM has the device of every region asked for, and the daemon lists it as a peer; each region's outcome is on standard output",
                "an unknown VM or region, a region the daemon does not serve, QEMU refused the device (its error is quoted: no root port, a refusal by the daemon, ...), the daemon did not list the VM within --timeout, or QEMU's QMP answered something that is not QMP"),
            new(RootManPage.Code(ExitCodes.Refused), "Refused: the QEMU process already lost an ivshmem device (QEMU 7.2 would crash); nothing was sent to QEMU. Restart the VM, or migrate it and attach on the destination."),
            .. HotplugOptions.SharedExitStatus("attach"),
        ],
        Files = [new(DefaultPaths.ConfigFile, "Read when --config is not given; its control_socket is where the daemon is asked.")],
        Examples =
        [
            new("ivshmemd attach web --qmp /run/web.qmp", "Give VM 'web' (started with -qmp unix:/run/web.qmp,server=on,wait=off) its devices."),
            new("ivshmemd attach web --qmp /run/web-dst.qmp", "After migrating 'web' to a destination started with 'ivshmemd qemu-args web --no-device'."),
            new("ivshmemd attach web --libvirt --region db", "Only region 'db', for the libvirt domain 'web' on qemu:///system."),
        ],
        SeeAlso = ["ivshmemd detach --help", "ivshmemd qemu-args --help", "ivshmemd status --help", "docs/migration.md"],
    };
}
