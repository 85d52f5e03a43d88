using System.Text.Json.Nodes;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Hotplug;

/// <summary>
/// <c>ivshmemd attach</c> and <c>detach</c> against real QEMU 7.2 processes (software emulation, paused,
/// no guest OS) started with what <c>ivshmemd qemu-args</c> prints, through their QMP sockets. Without a
/// guest OS QEMU accepts a device_add (realize connects to the daemon) but a device_del never completes:
/// that is the detach timeout. A real detach needs a guest: <see cref="ReattachRefusalTests"/>.
/// </summary>
public sealed class AttachDetachTests
{
    [Fact]
    public async Task AttachPutsTheDeviceOnTheRootPortOfAQemuStartedWithNoDeviceAndTheDaemonListsIt()
    {
        await using var rig = new HotplugRig();
        using var vm = rig.StartQemu("vm-a", "--no-device");
        Assert.Null(vm.IvshmemDevice()); // QEMU started (the QMP answers) with the root port alone
        vm.ReleaseQmp(); // QEMU serves one QMP client at a time: the command's turn

        CliResult attached = await rig.RunAsync("attach", "vm-a", "--qmp", vm.QmpPath);

        Assert.True(attached.ExitCode == 0, attached + vm.Diagnostics());
        PeerStatus peer = Assert.Single(rig.Server.RegionStatus("q").Peers);
        Assert.Equal(("vm-a", PeerKind.VirtualMachine, vm.Pid), (peer.Name, peer.Kind, peer.Pid));
        Assert.Equal($"vm-a: region 'q': attached as peer {peer.Id} (QEMU pid {vm.Pid}, device ivshmem-q on ivshmem-rp-q)", Assert.Single(attached.OutputLines));
        // query-pci shows what is behind a root port once the firmware has numbered the buses: let it run.
        vm.Qmp.Execute("cont", vm.Diagnostics);
        JsonNode? device = null;
        Eventually.True(() => (device = DeviceOnRootPort(vm.Qmp.Execute("query-pci", vm.Diagnostics)!, "ivshmem-rp-q")) is not null,
            $"query-pci shows a device behind root port ivshmem-rp-q ({vm.Diagnostics()})");
        Assert.Equal(("ivshmem-q", 0x1af4, 0x1110), (device!["qdev_id"]!.GetValue<string>(), device["id"]!["vendor"]!.GetValue<int>(), device["id"]!["device"]!.GetValue<int>()));
        Assert.Equal(Qemu.QemuConfig.RegionSize, QemuProcess.BarSize(device, 2));
    }

    [Fact]
    public async Task AttachingAgainSaysAlreadyAttachedAndChangesNothing()
    {
        await using var rig = new HotplugRig();
        using var vm = rig.StartQemu("vm-a"); // cold-plugged, as qemu-args prints by default
        Assert.NotNull(vm.IvshmemDevice());
        vm.ReleaseQmp();
        rig.Server.WaitForPeerCount(1, "q");
        int id = rig.Server.RegionStatus("q").Peers.Single().Id;

        CliResult again = await rig.RunAsync("attach", "vm-a", "--qmp", vm.QmpPath);

        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal("vm-a: region 'q': already attached (device ivshmem-q); nothing done", Assert.Single(again.OutputLines));
        Assert.Equal(id, Assert.Single(rig.Server.RegionStatus("q").Peers).Id);
        Assert.False(vm.HasExited);
    }

    [Fact]
    public async Task DetachOfAVmThatHasNoDeviceSaysNotAttached()
    {
        await using var rig = new HotplugRig();
        using var vm = rig.StartQemu("vm-a", "--no-device");
        Assert.Equal("prelaunch", vm.Status());
        vm.ReleaseQmp();

        CliResult detached = await rig.RunAsync("detach", "vm-a", "--qmp", vm.QmpPath);

        Assert.True(detached.ExitCode == 0, detached.ToString());
        Assert.Equal("vm-a: region 'q': not attached (no device ivshmem-q); nothing done", Assert.Single(detached.OutputLines));
    }

    [Fact]
    public async Task DetachWhoseGuestNeverReleasesTheDeviceGivesUpWithTempFailAndTheVmStaysAPeer()
    {
        await using var rig = new HotplugRig();
        using var vm = rig.StartQemu("vm-a");
        Assert.NotNull(vm.IvshmemDevice());
        vm.ReleaseQmp();
        rig.Server.WaitForPeerCount(1, "q");

        CliResult detached = await rig.RunAsync("detach", "vm-a", "--qmp", vm.QmpPath, "--timeout", "1");

        Assert.Equal(ExitCodes.TemporaryFailure, detached.ExitCode);
        Assert.Equal($"ivshmemd detach: error: QMP socket {vm.QmpPath}: the guest did not release device 'ivshmem-q' within 1 s (no DEVICE_DELETED). " +
            "The request stays pending in QEMU: the device goes when the guest lets go of it (or at its next reset). " +
            "Run detach again to wait again, with a longer --timeout if the guest needs it.", Assert.Single(detached.ErrorLines));
        // Nothing was taken away: no guest answered, so the device, its chardev and the connection stay.
        Assert.Contains(vm.Qmp.Execute("query-chardev", vm.Diagnostics)!.AsArray(), c => c!["label"]!.GetValue<string>() == "ivshmem-q");
        Assert.Single(rig.Server.RegionStatus("q").Peers);
        Assert.Empty(rig.Server.Server.UnpluggedQemu);
        Assert.False(vm.HasExited);
    }

    [Fact]
    public async Task ASecondQemuWithTheSameNameGetsANewIdAndTheOthersAreTold()
    {
        await using var rig = new HotplugRig();
        HostPeer observer = rig.Server.Connect("q");
        using var first = rig.StartQemu("vm-a");
        Assert.NotNull(first.IvshmemDevice());
        rig.Server.WaitForPeerCount(2, "q");
        int firstId = rig.Server.RegionStatus("q").Peers.Single(p => p.Name == "vm-a").Id;
        Assert.True(observer.WaitForPeer(firstId, Eventually.DefaultTimeout));
        first.Kill(); // the VM goes away (a migration's source, a restart)
        Assert.True(observer.WaitForDeparture(firstId, Eventually.DefaultTimeout), "the observer was told vm-a left");

        using var second = rig.StartQemu("vm-a", "--no-device"); // e.g. the migration's destination
        Assert.Equal("prelaunch", second.Status());
        second.ReleaseQmp();
        CliResult attached = await rig.RunAsync("attach", "vm-a", "--qmp", second.QmpPath);

        Assert.True(attached.ExitCode == 0, attached.ToString());
        PeerStatus again = rig.Server.RegionStatus("q").Peers.Single(p => p.Name == "vm-a");
        Assert.True(again.Id > firstId, $"the second vm-a got id {again.Id}, the first had {firstId}: never a reused id");
        Assert.Equal(second.Pid, again.Pid);
        Assert.True(observer.WaitForPeer(again.Id, Eventually.DefaultTimeout), "the daemon sent the observer the new vm-a's eventfds");
        Assert.Empty(observer.Problems);
        // The first QEMU exited: nothing to protect, and no refusal for the new process.
        Assert.Empty(rig.Server.Server.UnpluggedQemu);
    }

    /// <summary>The device behind the root port whose QEMU id is <paramref name="rootPort"/>, or null
    /// while query-pci lists none there.</summary>
    private static JsonNode? DeviceOnRootPort(JsonNode queryPci, string rootPort)
    {
        foreach (JsonNode? bus in queryPci.AsArray())
            foreach (JsonNode? device in bus!["devices"]!.AsArray())
                if (device!["qdev_id"]?.GetValue<string>() == rootPort && device["pci_bridge"]?["devices"] is JsonArray { Count: > 0 } behind)
                    return Assert.Single(behind);
        return null;
    }
}
