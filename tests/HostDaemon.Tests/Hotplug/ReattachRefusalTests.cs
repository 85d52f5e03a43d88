using System.Text.Json.Nodes;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Tests.Hotplug;

/// <summary>
/// A real detach, which needs a guest OS to complete (the project's test guest: a Linux guest without
/// a driver for the device releases it at once), and then the refusal to attach into the same QEMU
/// process, which QEMU 7.2 would not survive: the reason and exit status 3, nothing sent to QEMU, QEMU
/// still running; the daemon shows the process in its status and still knows it after a restart.
/// </summary>
public sealed class ReattachRefusalTests
{
    [Fact]
    public async Task AQemuThatLostItsDeviceIsRefusedWithTheReasonAndRunsOn()
    {
        await using var rig = new HotplugRig();
        string console = rig.Directory.File("vm-a.console");
        using var vm = QemuProcess.StartGuest("vm-a", rig.Directory.Path, TestGuest.Image, "sleep 600", console, rig.Config.QemuArgs("vm-a"));
        Eventually.True(() => File.Exists(console) && File.ReadAllText(console).Contains(TestGuest.ReadyMarker),
            $"the guest booted ({vm.Diagnostics()})", TimeSpan.FromSeconds(120));
        rig.Server.WaitForPeerCount(1, "q");
        int id = rig.Server.RegionStatus("q").Peers.Single().Id;

        CliResult detached = await rig.RunAsync("detach", "vm-a", "--qmp", vm.QmpPath, "--timeout", "30");

        Assert.True(detached.ExitCode == 0, detached + vm.Diagnostics() + File.ReadAllText(console));
        // Only vm-a was connected, so the device freed its own two vector eventfds: QEMU now holds both numbers.
        Assert.Matches(@"^vm-a: region 'q': detached in \d+\.\d\d s \(the guest released the device; QEMU's connection to the region is closed\); " +
            @"QEMU holds 2 fd numbers the device freed \(QEMU 7\.2's stale handlers, docs/migration\.md\)$", Assert.Single(detached.OutputLines));
        rig.Server.WaitForPeerCount(0, "q");
        UnpluggedQemu lost = Assert.Single(rig.Server.Server.UnpluggedQemu);
        Assert.Equal((vm.Pid, "vm-a", "q", id), (lost.Process.Pid, lost.Vm, lost.Region, lost.PeerId));
        Assert.Equal(QemuProcessIdentity.Of(vm.Pid), lost.Process);
        CliResult status = await CliRunner.RunAsync("status", "--socket", rig.Config.Options.ControlSocketPath, "--json");
        JsonNode reported = Assert.Single(JsonNode.Parse(status.Output)!["unpluggedQemu"]!.AsArray())!;
        Assert.Equal((vm.Pid, "vm-a", "q"), (reported["pid"]!.GetValue<int>(), reported["vm"]!.GetValue<string>(), reported["region"]!.GetValue<string>()));

        CliResult attached = await rig.RunAsync("attach", "vm-a", "--qmp", vm.QmpPath);

        Assert.Equal(ExitCodes.Refused, attached.ExitCode);
        Assert.Equal("", attached.Output);
        Assert.StartsWith($"ivshmemd attach: refused: QEMU process {vm.Pid} (VM 'vm-a') already lost an ivshmem device (region 'q', peer {id}, at ", Assert.Single(attached.ErrorLines));
        Assert.EndsWith("QEMU 7.2 crashes when an ivshmem-doorbell is added to a process that had one unplugged, so nothing was sent to it. " +
            "Attach in a new QEMU process: restart the VM, or migrate it and attach on the destination.", attached.ErrorLines[0]);
        Assert.Equal("running", vm.Status());
        Assert.DoesNotContain(vm.Qmp.Execute("query-chardev", vm.Diagnostics)!.AsArray(), c => c!["label"]!.GetValue<string>() == "ivshmem-q");
        Assert.Empty(rig.Server.RegionStatus("q").Peers);

        // A restarted daemon (state directory kept) still knows.
        rig.Server.Dispose();
        using var restarted = new RunningServer(rig.Config.Options, rig.Directory);
        Assert.Equal(lost.Process, Assert.Single(restarted.Server.UnpluggedQemu).Process);
        vm.Kill();
        Assert.Empty(restarted.Server.UnpluggedQemu); // the process is gone: nothing left to protect
    }
}
