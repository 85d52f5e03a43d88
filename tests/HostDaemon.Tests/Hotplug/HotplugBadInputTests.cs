using System.Net.Sockets;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Daemon.Tests.Qemu;

namespace Ivshmem.Daemon.Tests.Hotplug;

/// <summary>
/// <c>ivshmemd attach</c>/<c>detach</c> given what cannot work: a VM that is not running, a QMP socket
/// that says nothing or something that is not QMP, a device QEMU will not take, an unknown VM or region,
/// no daemon. Each is one line on standard error that says what and why, with its documented exit
/// status; nothing else is disturbed (the daemon serves on, the other VM stays a peer).
/// </summary>
public sealed class HotplugBadInputTests
{
    [Fact]
    public async Task DetachOfAVmWithoutAQmpSocketIsUnavailable()
    {
        await using var rig = new HotplugRig();
        string path = rig.Directory.File("absent.qmp");

        CliResult result = await rig.RunAsync("detach", "vm-a", "--qmp", path);

        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal($"ivshmemd detach: error: no QMP socket {path}: is the VM running, started with -qmp unix:{path},server=on,wait=off?", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task AttachToAQmpSocketNobodyListensOnIsUnavailable()
    {
        await using var rig = new HotplugRig();
        string path = rig.Directory.File("left.qmp");
        // A socket file without a listener, as a QEMU that was killed leaves it.
        using (var left = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            left.Bind(new UnixDomainSocketEndPoint(path + ".bound"));
            File.Move(path + ".bound", path);
        }

        CliResult result = await rig.RunAsync("attach", "vm-a", "--qmp", path);

        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Equal($"ivshmemd attach: error: cannot connect to the QMP socket {path}: nothing listens on it (connection refused: the VM has exited, or it is not a socket)", Assert.Single(result.ErrorLines));
        Assert.Empty(rig.Server.RegionStatus("q").Peers);
    }

    [Fact]
    public async Task AQmpSocketThatAcceptsAndSaysNothingTimesOutAsUnavailable()
    {
        await using var rig = new HotplugRig();
        using var silent = new FakeQmpServer(rig.Directory.File("silent.qmp"));

        CliResult result = await rig.RunAsync("detach", "vm-a", "--qmp", silent.Path, "--timeout", "0.5");

        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Equal($"ivshmemd detach: error: QMP socket {silent.Path}: no its greeting within 0.5 s " +
            "(QEMU serves one QMP client at a time on a socket: is another one connected? Or QEMU hangs)", Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData(new[] { "hello, I am not QEMU" }, "its greeting is not JSON: hello, I am not QEMU")]
    [InlineData(new[] { "{\"greeting\": true}" }, "the first message is not a QMP greeting: {\"greeting\": true}")]
    [InlineData(new[] { "{\"QMP\": {}}", "[1, 2, 3]" }, "not a JSON object: [1, 2, 3]")]
    [InlineData(new[] { "{\"QMP\": {}}", "{\"return\": {}, \"id\": 42}" }, "an answer that is not for qmp_capabilities (id 1): {\"return\": {}, \"id\": 42}")]
    public async Task AQmpSocketThatAnswersGarbageFailsWithWhatItSaid(string[] lines, string expected)
    {
        await using var rig = new HotplugRig();
        using var liar = new FakeQmpServer(rig.Directory.File("liar.qmp"), lines);

        CliResult result = await rig.RunAsync("attach", "vm-a", "--qmp", liar.Path, "--timeout", "5");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal($"ivshmemd attach: error: QMP socket {liar.Path}: {expected}", Assert.Single(result.ErrorLines));
        Assert.Empty(rig.Server.RegionStatus("q").Peers);
    }

    [Fact]
    public async Task AttachToAVmWithoutTheRootPortFailsBeforeQemuConnectsAndLeavesEveryoneAlone()
    {
        await using var rig = new HotplugRig();
        using var other = rig.StartQemu("vm-b");
        Assert.NotNull(other.IvshmemDevice());
        using var vm = rig.StartQemu("vm-a", null); // no ivshmem options: no root port
        Assert.Equal("prelaunch", vm.Status());
        vm.ReleaseQmp();

        CliResult result = await rig.RunAsync("attach", "vm-a", "--qmp", vm.QmpPath);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal($"ivshmemd attach: error: QMP socket {vm.QmpPath}: the VM has no root port 'ivshmem-rp-q' for region 'q'. Start the VM with the options of " +
            "'ivshmemd qemu-args VM' (or 'qemu-args VM --no-device' for the ports alone); an i440fx machine (-M pc) has no root ports and cannot take the device while it runs",
            Assert.Single(result.ErrorLines));
        Assert.Equal("prelaunch", vm.Status());
        Assert.Equal("vm-b", Assert.Single(rig.Server.RegionStatus("q").Peers).Name);
        Assert.Empty(rig.Server.Server.UnpluggedQemu); // QEMU never connected, so it lost nothing
    }

    [Fact]
    public async Task AttachToARootPortThatHoldsAnotherDeviceFailsAndSaysWhichDevice()
    {
        await using var rig = new HotplugRig();
        IReadOnlyList<string> ports = rig.Config.QemuArgs("vm-a", "--no-device");
        using var vm = Infrastructure.QemuProcess.Start("vm-a", rig.Directory.Path, [.. ports, "-device", "virtio-rng-pci,id=rng,bus=ivshmem-rp-q"]);
        Assert.Equal("prelaunch", vm.Status());
        vm.ReleaseQmp();

        CliResult result = await rig.RunAsync("attach", "vm-a", "--qmp", vm.QmpPath);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal($"ivshmemd attach: error: QMP socket {vm.QmpPath}: root port 'ivshmem-rp-q' already holds device 'rng'; it is reserved for region 'q''s ivshmem device",
            Assert.Single(result.ErrorLines));
        Assert.Equal("prelaunch", vm.Status());
    }

    [Fact]
    public async Task AttachWhileAnotherQemuOfTheNameIsConnectedFailsBeforeQemuConnects()
    {
        // The daemon admits one connection per VM name, and a QEMU whose new chardev it refuses (and
        // closes) before device_add reads it spins forever inside device_add. So attach asks first:
        // what a migration on one host meets when the destination attaches before the source detached.
        await using var rig = new HotplugRig();
        using var source = rig.StartQemu("vm-a");
        Assert.NotNull(source.IvshmemDevice());
        rig.Server.WaitForPeerCount(1, "q");
        PeerStatus connected = rig.Server.RegionStatus("q").Peers.Single();
        using var destination = rig.StartQemu("vm-a", "--no-device");
        Assert.Equal("prelaunch", destination.Status());
        destination.ReleaseQmp();

        CliResult result = await rig.RunAsync("attach", "vm-a", "--qmp", destination.QmpPath);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal($"ivshmemd attach: error: region 'q': another QEMU of VM 'vm-a' (pid {source.Pid}, peer {connected.Id}) is still connected to it, " +
            "and the daemon admits one per name; in a migration on one host, detach the source first; nothing was sent to QEMU", Assert.Single(result.ErrorLines));
        Assert.Equal("prelaunch", destination.Status()); // its monitor answers: QEMU is not stuck
        Assert.DoesNotContain(destination.Qmp.Execute("query-chardev", destination.Diagnostics)!.AsArray(), c => c!["label"]!.GetValue<string>() == "ivshmem-q");
        Assert.Equal(source.Pid, Assert.Single(rig.Server.RegionStatus("q").Peers).Pid);
        Assert.Equal("prelaunch", source.Status());
    }

    [Fact]
    public async Task ACommandQemuRefusesIsReportedInQemusOwnWordsAndTheVmRunsOn()
    {
        // A configuration that names another socket for the region than the daemon serves (changed
        // and not reloaded): QEMU's chardev-add cannot connect and says so.
        await using var rig = new HotplugRig();
        string stale = rig.Directory.File("stale.yaml");
        string moved = rig.Directory.File("moved.sock");
        File.WriteAllText(stale, File.ReadAllText(rig.Config.Path).Replace("max_peers: 4", $"max_peers: 4\n    socket: {moved}"));
        using var vm = rig.StartQemu("vm-a", "--no-device");
        Assert.Equal("prelaunch", vm.Status());
        vm.ReleaseQmp();

        CliResult result = await CliRunner.RunAsync("attach", "vm-a", "--config", stale, "--qmp", vm.QmpPath);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal($"ivshmemd attach: error: QMP socket {vm.QmpPath}: QEMU refused chardev-add: Failed to add chardev 'ivshmem-q': Failed to connect to '{moved}': No such file or directory",
            Assert.Single(result.ErrorLines));
        Assert.Equal("prelaunch", vm.Status());
        Assert.Empty(rig.Server.RegionStatus("q").Peers);
    }

    [Theory]
    [InlineData("attach")]
    [InlineData("detach")]
    public async Task UnknownVmOrRegionFailsWithTheKnownOnes(string verb)
    {
        await using var rig = new HotplugRig();

        CliResult vm = await rig.RunAsync(verb, "vm-x", "--qmp", rig.Directory.File("x.qmp"));
        CliResult region = await rig.RunAsync(verb, "vm-a", "--qmp", rig.Directory.File("x.qmp"), "--region", "nope");

        Assert.Equal((ExitCodes.Failure, ExitCodes.Failure), (vm.ExitCode, region.ExitCode));
        Assert.Equal($"ivshmemd {verb}: error: no region in {rig.Config.Path} admits VM 'vm-x'; VMs it names: vm-a, vm-b, vm-c", Assert.Single(vm.ErrorLines));
        Assert.Equal($"ivshmemd {verb}: error: VM 'vm-a' is in no region 'nope'; its regions: q", Assert.Single(region.ErrorLines));
    }

    [Fact]
    public async Task AttachWithoutARunningDaemonIsUnavailableAndTouchesNoVm()
    {
        using var dir = new TestDirectory();
        QemuConfig config = QemuConfig.Write(dir);

        CliResult result = await CliRunner.RunAsync("attach", "vm-a", "--config", config.Path, "--qmp", dir.File("vm.qmp"));

        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Equal($"ivshmemd attach: error: cannot connect to {dir.File("control.sock")}: no such socket; is ivshmemd running, with the control_socket of this configuration (--config)?",
            Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData("attach", "vm-a")]
    [InlineData("detach", "vm-a", "--qmp", "/run/a.qmp", "--libvirt")]
    [InlineData("attach", "vm-a", "--qmp", "/run/a.qmp", "--timeout", "0")]
    [InlineData("detach", "--qmp", "/run/a.qmp")]
    public async Task HowToReachTheVmMustBeSaidOnceAndTheTimeoutBePositive(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.EndsWith($"Try 'ivshmemd {args[0]} --help' for more information.", result.ErrorLines[^1]);
    }
}
