using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Qemu;

/// <summary>
/// Real qemu-system-x86_64 processes (QEMU 7.2, software emulation, paused, no guest OS) against the
/// daemon, started with exactly the options <c>ivshmemd qemu-args VM</c> prints. Every wait is
/// bounded: a QEMU that hangs in realize fails the test.
/// </summary>
public sealed class QemuPeerTests
{
    [Fact]
    public void QemuConnectsStaysUpAndShowsTheDeviceWithBar2OfTheRegionSize()
    {
        using var dir = new TestDirectory();
        QemuConfig config = QemuConfig.Write(dir);
        using var server = new RunningServer(config.Options, dir);
        using var vm = QemuProcess.Start("vm-a", dir.Path, config.QemuArgs("vm-a"));

        Assert.Equal("prelaunch", vm.Status());
        var device = vm.IvshmemDevice();
        Assert.True(device is not null, $"query-pci shows an ivshmem device: {vm.Diagnostics()}");
        Assert.Equal(QemuConfig.RegionSize, QemuProcess.BarSize(device, 2));

        PeerStatus peer = Assert.Single(server.RegionStatus("q").Peers);
        Assert.Equal(("vm-a", PeerKind.VirtualMachine, vm.Pid), (peer.Name, peer.Kind, peer.Pid));
        Assert.False(vm.HasExited);
    }

    [Fact]
    public void SecondQemuJoinsKilledQemuIsAnnouncedAndAThirdGetsAFreshId()
    {
        using var dir = new TestDirectory();
        QemuConfig config = QemuConfig.Write(dir);
        using var server = new RunningServer(config.Options, dir);
        HostPeer observer = server.Connect("q");
        using var a = QemuProcess.Start("vm-a", dir.Path, config.QemuArgs("vm-a"));
        Assert.NotNull(a.IvshmemDevice());
        using var b = QemuProcess.Start("vm-b", dir.Path, config.QemuArgs("vm-b"));
        Assert.NotNull(b.IvshmemDevice());
        PeerEntry aEntry = observer.FindPeer("vm-a");
        PeerEntry bEntry = observer.FindPeer("vm-b");
        Assert.True(observer.WaitForPeer(aEntry.PeerId, Eventually.DefaultTimeout) && observer.WaitForPeer(bEntry.PeerId, Eventually.DefaultTimeout));

        a.Kill();

        Assert.True(observer.WaitForDeparture(aEntry.PeerId, Eventually.DefaultTimeout), "the daemon announced vm-a's departure");
        Eventually.True(() => observer.Region.Peers.Read(aEntry.Slot).State == PeerState.Gone, "the peer table shows vm-a gone");
        server.WaitForPeerCount(2, "q"); // the status is published last
        Assert.Equal(new[] { "vm-b", observer.Self.Name }.Order(), server.RegionStatus("q").Peers.Select(p => p.Name).Order());
        Assert.Equal("prelaunch", b.Status()); // vm-b took the departure message and runs on

        using var c = QemuProcess.Start("vm-c", dir.Path, config.QemuArgs("vm-c"));
        Assert.NotNull(c.IvshmemDevice());
        PeerEntry cEntry = observer.FindPeer("vm-c");
        Assert.True(cEntry.PeerId > bEntry.PeerId, $"vm-c got id {cEntry.PeerId}, after vm-b's {bEntry.PeerId}: never a reused id");
        Assert.Equal("prelaunch", b.Status());
        Assert.Empty(observer.Problems);
    }

    [Fact]
    public void QemuWhoseNameIsNotConfiguredIsRefusedAndExitsWithTheVersionError()
    {
        using var dir = new TestDirectory();
        QemuConfig config = QemuConfig.Write(dir);
        using var server = new RunningServer(config.Options, dir);
        var args = config.QemuArgs("vm-a"); // the right device options, under the wrong name

        using var stranger = QemuProcess.Start("vm-stranger", dir.Path, args);
        int exitCode = stranger.WaitForExit();

        Assert.Equal(1, exitCode);
        Assert.Contains("server sent version 1, expecting 0", stranger.Stderr);
        Assert.Contains("vm-stranger", Assert.Single(server.Log.WithEvent(3000)).Message);
        Assert.Empty(server.RegionStatus("q").Peers);
    }

    [Fact]
    public void QemuWhoseNameDoesNotFitThePeerTableIsRefusedSayingSo()
    {
        // check-config refuses such a name in a file (bad-configs/vm-name-too-long.yaml); admission
        // refuses it again, whatever the options came from, before anything is written to the table.
        string longName = "vm-" + new string('x', 70);
        using var dir = new TestDirectory();
        QemuConfig config = QemuConfig.Write(dir);
        RegionOptions region = config.Options.Regions.Single();
        DaemonOptions options = config.Options with { Regions = [region with { Vms = [.. region.Vms, longName] }] };
        using var server = new RunningServer(options, dir);

        using var vm = QemuProcess.Start(longName, dir.Path, config.QemuArgs("vm-a"));

        Assert.Equal(1, vm.WaitForExit());
        Assert.Contains("server sent version 1, expecting 0", vm.Stderr);
        Assert.Contains("longer than the 64 bytes", Assert.Single(server.Log.WithEvent(3000)).Message);
    }
}
