using System.Globalization;
using System.Text.Json.Nodes;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Qemu;

/// <summary>
/// A running QEMU while ivshmemd is SIGKILLed and restarted from systemd's fd store: QEMU stays up,
/// the memory it maps as BAR2 is the memory the restarted daemon serves (checked both ways: written by
/// a host peer, read through QEMU's view of guest-physical memory), and the restarted daemon still
/// follows QEMU: when QEMU goes, its departure is announced.
/// </summary>
public sealed class DaemonRestartTests
{
    private const int SIGKILL = 9;

    [Fact]
    public void QemuStaysUpAcrossADaemonKillAndRestartAndKeepsSharingTheRegionMemory()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("q", extra: ", vms: [vm-a, vm-b]"));
        using var vm = QemuProcess.Start("vm-a", dir.Path, QemuArgs(service, "vm-a"));
        long bar2 = FirmwareAssignedBar2(vm);
        using HostPeer before = HostPeer.Connect(service.SocketOf("q"), new HostPeerOptions { Name = "before" });
        PeerEntry vmEntry = before.FindPeer("vm-a");
        const long Offset = 0x10000;
        before.Memory.WriteInt64(Offset, 0x0BEF0BE);
        Assert.Equal(0x0BEF0BE, ReadThroughQemu(vm, bar2 + Offset));

        service.Process.Signal(SIGKILL);
        service.Process.WaitForExit();
        Assert.Equal("running", vm.Status());
        service.StartProcess();

        using HostPeer after = HostPeer.Connect(service.SocketOf("q"), new HostPeerOptions { Name = "after" });
        Assert.Equal(0x0BEF0BE, after.Memory.ReadInt64(Offset));
        after.Memory.WriteInt64(Offset, 0xAF7E4);
        Assert.Equal(0xAF7E4, ReadThroughQemu(vm, bar2 + Offset));
        Assert.Equal(vmEntry, after.FindPeer("vm-a"));
        Assert.True(after.WaitForPeer(vmEntry.PeerId, Eventually.DefaultTimeout), "the restarted daemon handed out vm-a's eventfds");
        Assert.True(after.OwnId > before.OwnId);
        Assert.True(before.WaitForPeer(after.OwnId, Eventually.DefaultTimeout));

        vm.Kill();

        Assert.True(after.WaitForDeparture(vmEntry.PeerId, Eventually.DefaultTimeout), "the restarted daemon noticed QEMU leave");
        Assert.True(before.WaitForDeparture(vmEntry.PeerId, Eventually.DefaultTimeout));
        Eventually.True(() => after.Region.Peers.Read(vmEntry.Slot).State == PeerState.Gone, "the peer table shows vm-a gone");
    }

    [Fact]
    public void QemuStartedAfterTheRestartJoinsWithAFreshIdAndTheOldQemuRunsOn()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("q", extra: ", vms: [vm-a, vm-b]"));
        using var a = QemuProcess.Start("vm-a", dir.Path, QemuArgs(service, "vm-a"));
        Assert.NotNull(a.IvshmemDevice());
        service.Process.Signal(SIGKILL);
        service.Process.WaitForExit();
        service.StartProcess();

        using var b = QemuProcess.Start("vm-b", dir.Path, QemuArgs(service, "vm-b"));
        Assert.NotNull(b.IvshmemDevice());
        using HostPeer observer = HostPeer.Connect(service.SocketOf("q"));
        Assert.True(observer.FindPeer("vm-b").PeerId > observer.FindPeer("vm-a").PeerId);
        Assert.Equal("prelaunch", a.Status()); // it took vm-b's announcement on its resumed connection
        Assert.Equal("prelaunch", b.Status());
    }

    private static IReadOnlyList<string> QemuArgs(ServiceUnderTest service, string vm)
    {
        CliResult result = CliRunner.RunAsync("qemu-args", vm, "--config", service.ConfigPath, "--format", "lines").GetAwaiter().GetResult();
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.OutputLines;
    }

    /// <summary>Lets the firmware (SeaBIOS) run until it has placed BAR2 in guest-physical memory.</summary>
    private static long FirmwareAssignedBar2(QemuProcess vm)
    {
        vm.Qmp.Execute("cont", vm.Diagnostics);
        long address = 0;
        Eventually.True(() =>
        {
            JsonNode device = vm.IvshmemDevice()!;
            address = device["regions"]!.AsArray().Single(r => r!["bar"]!.GetValue<int>() == 2)!["address"]!.GetValue<long>();
            return address is > 0 and < (1L << 48);
        }, "the firmware assigned BAR2");
        return address;
    }

    /// <summary>One 64-bit word of guest-physical memory as QEMU sees it (HMP xp).</summary>
    private static long ReadThroughQemu(QemuProcess vm, long address)
    {
        string text = vm.Qmp.Human($"xp /1xg 0x{address:x}", vm.Diagnostics); // "00000000f8010000: 0x00000000000bef0be"
        string value = text[(text.IndexOf(": 0x", StringComparison.Ordinal) + 4)..].Trim();
        return long.Parse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
