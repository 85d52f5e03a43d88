using Ivshmem.Daemon.Cli;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Cli;

public sealed class QemuArgsCommandTests
{
    [Fact]
    public async Task ShellFormatPrintsOneQuotedLinePerRegionOfTheVm()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("qemu-args", "web", "--config", path);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Equal(
        [
            "-device pcie-root-port,id=ivshmem-rp-web-db,chassis=200,slot=4409,pref64-reserve=128M " +
            "-chardev socket,id=ivshmem-web-db,path=/run/ivshmemd/web-db.sock " +
            "-device ivshmem-doorbell,id=ivshmem-web-db,chardev=ivshmem-web-db,vectors=2,bus=ivshmem-rp-web-db",
            // The comma in the path is doubled for QEMU; the space makes the shell quoting necessary.
            "-device pcie-root-port,id=ivshmem-rp-web-cache,chassis=200,slot=4821,pref64-reserve=2G " +
            "-chardev 'socket,id=ivshmem-web-cache,path=/srv/ivshmem/web cache,,v2.sock' " +
            "-device ivshmem-doorbell,id=ivshmem-web-cache,chardev=ivshmem-web-cache,vectors=4,bus=ivshmem-rp-web-cache",
        ], result.OutputLines);
    }

    [Fact]
    public async Task LinesFormatPrintsOneUnquotedArgumentPerLine()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("qemu-args", "cache", "--config", path, "--format", "lines");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Equal(
        [
            "-device",
            "pcie-root-port,id=ivshmem-rp-web-cache,chassis=200,slot=4821,pref64-reserve=2G",
            "-chardev",
            "socket,id=ivshmem-web-cache,path=/srv/ivshmem/web cache,,v2.sock",
            "-device",
            "ivshmem-doorbell,id=ivshmem-web-cache,chardev=ivshmem-web-cache,vectors=4,bus=ivshmem-rp-web-cache",
        ], result.OutputLines);
    }

    [Fact]
    public async Task NoDevicePrintsOnlyTheRootPortsTheFullOptionsHave()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);
        CliResult full = await CliRunner.RunAsync("qemu-args", "web", "--config", path, "-f", "lines");

        CliResult ports = await CliRunner.RunAsync("qemu-args", "web", "--config", path, "-f", "lines", "--no-device");

        Assert.Equal(ExitCodes.Ok, ports.ExitCode);
        Assert.Equal(
        [
            "-device", "pcie-root-port,id=ivshmem-rp-web-db,chassis=200,slot=4409,pref64-reserve=128M",
            "-device", "pcie-root-port,id=ivshmem-rp-web-cache,chassis=200,slot=4821,pref64-reserve=2G",
        ], ports.OutputLines);
        // A migration's destination gets exactly the source's ports.
        Assert.Equal(ports.OutputLines.Where(l => l.StartsWith("pcie-root-port", StringComparison.Ordinal)),
            full.OutputLines.Where(l => l.StartsWith("pcie-root-port", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task NoHotplugPrintsTheChardevAndTheDeviceWithoutAPort()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("qemu-args", "cache", "--config", path, "-f", "lines", "--no-hotplug");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Equal(
        [
            "-chardev", "socket,id=ivshmem-web-cache,path=/srv/ivshmem/web cache,,v2.sock",
            "-device", "ivshmem-doorbell,id=ivshmem-web-cache,chardev=ivshmem-web-cache,vectors=4",
        ], result.OutputLines);
    }

    [Fact]
    public async Task NoDeviceAndNoHotplugTogetherAreAUsageError()
    {
        CliResult result = await CliRunner.RunAsync("qemu-args", "web", "--no-device", "--no-hotplug");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.StartsWith("ivshmemd qemu-args: error: --no-device and --no-hotplug exclude each other", result.ErrorLines[0]);
    }

    [Fact]
    public void RootPortSlotsStayTheSameWhenOtherRegionsComeGoOrMove()
    {
        RegionOptions Region(string name) => new() { Name = name, SizeBytes = 1 << 20, SocketPath = $"/run/x/{name}.sock" };
        RegionOptions a = Region("alpha"), b = Region("beta"), c = Region("gamma");

        int alone = QemuArguments.RootPortSlot(b, [b]);

        Assert.Equal(alone, QemuArguments.RootPortSlot(b, [a, b, c]));
        Assert.Equal(alone, QemuArguments.RootPortSlot(b, [c, b]));
        Assert.InRange(alone, 1, 8191);
        int[] slots = [QemuArguments.RootPortSlot(a, [a, b, c]), alone, QemuArguments.RootPortSlot(c, [a, b, c])];
        Assert.Equal(3, slots.Distinct().Count());
    }

    [Fact]
    public void RegionsWhoseNamesHashAlikeGetDistinctSlotsInFileOrder()
    {
        // Find two names that share a slot: the second of them takes the next number.
        var byslot = new Dictionary<int, string>();
        (string first, string second) = ("", "");
        for (int i = 0; ; i++)
        {
            string name = $"r{i}";
            int slot = QemuArguments.RootPortSlot(new RegionOptions { Name = name, SizeBytes = 1, SocketPath = "/s" }, []);
            if (byslot.TryGetValue(slot, out string? earlier)) { (first, second) = (earlier, name); break; }
            byslot[slot] = name;
        }
        RegionOptions one = new() { Name = first, SizeBytes = 1 << 20, SocketPath = "/s1" }, two = new() { Name = second, SizeBytes = 1 << 20, SocketPath = "/s2" };

        int slotOne = QemuArguments.RootPortSlot(one, [one, two]), slotTwo = QemuArguments.RootPortSlot(two, [one, two]);

        Assert.Equal(slotOne % 8191 + 1, slotTwo);
    }

    [Theory]
    [InlineData(1L << 20, "2M")]
    [InlineData(64L << 20, "128M")]
    [InlineData((64L << 20) + 1, "256M")]
    [InlineData(1L << 30, "2G")]
    [InlineData(4096, "8192")]
    public void RootPortReservesTwiceTheRegionSizeRoundedUpToAPowerOfTwo(long size, string reserve) =>
        Assert.Equal(reserve, QemuArguments.PrefetchableReserve(size));

    [Fact]
    public async Task ShellOutputSurvivesARealShellAsTheSameArguments()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);
        CliResult shell = await CliRunner.RunAsync("qemu-args", "web", "--config", path);
        CliResult lines = await CliRunner.RunAsync("qemu-args", "web", "--config", path, "-f", "lines");

        // eval in /bin/sh, then print each resulting argument on its own line.
        CliResult evaluated = await ChildProcess.RunAsync("/bin/sh", ["-c", "eval \"set -- $(cat)\"; printf '%s\\n' \"$@\""],
            standardInput: shell.Output.Replace('\n', ' '));

        Assert.Equal(0, evaluated.ExitCode);
        Assert.Equal(lines.OutputLines, evaluated.OutputLines);
    }

    [Fact]
    public async Task OutputNeverAsksQemuToReconnectOrToBeTheServer()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("qemu-args", "web", "--config", path, "-f", "lines");

        Assert.DoesNotContain("reconnect", result.Output);
        Assert.DoesNotContain("server", result.Output);
        Assert.All(result.OutputLines.Where(l => l.StartsWith("socket,", StringComparison.Ordinal)),
            chardev => Assert.Equal(3, chardev.Replace(",,", "").Split(',').Length));
    }

    [Fact]
    public async Task UnknownVmExitsOneAndListsTheKnownVms()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("qemu-args", "wbe", "--config", path);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal($"ivshmemd qemu-args: error: no region in {path} admits VM 'wbe'; VMs it names: cache, db, web", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task HostUserIsNotAVm()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("qemu-args", "bench", "--config", path);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
    }

    [Fact]
    public async Task InvalidConfigurationExitsWithExConfigAndItsErrors()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.Invalid);

        CliResult result = await CliRunner.RunAsync("qemu-args", "web", "--config", path);

        Assert.Equal(ExitCodes.Config, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.StartsWith($"{path}:3:11: error: ", result.ErrorLines[0]);
    }

    [Fact]
    public async Task DemoPrintsTheOptionsOfTheBuiltInConfigurationInThatDirectory()
    {
        CliResult result = await CliRunner.RunAsync("qemu-args", "vm-b", "--demo", "/tmp/ivshmemd-demo", "-f", "lines");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Equal("", result.Error);
        // The same region and socket that 'ivshmemd run --demo /tmp/ivshmemd-demo' serves.
        var region = DefaultConfiguration.Create("/tmp/ivshmemd-demo").Regions.Single();
        Assert.Equal(QemuArguments.For(region, [region]), result.OutputLines);
        Assert.Equal(
            ["-device", "pcie-root-port,id=ivshmem-rp-demo,chassis=200,slot=3404,pref64-reserve=128M",
             "-chardev", "socket,id=ivshmem-demo,path=/tmp/ivshmemd-demo/demo.sock",
             "-device", "ivshmem-doorbell,id=ivshmem-demo,chardev=ivshmem-demo,vectors=2,bus=ivshmem-rp-demo"],
            result.OutputLines);
    }

    [Fact]
    public async Task DemoKnowsOnlyItsTwoVms()
    {
        CliResult result = await CliRunner.RunAsync("qemu-args", "vm-c", "--demo", "/tmp/ivshmemd-demo");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal("ivshmemd qemu-args: error: no region in (built-in demo configuration) admits VM 'vm-c'; VMs it names: vm-a, vm-b", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task DemoInADirectoryTooLongForSocketsExitsOneWithTheReason()
    {
        CliResult result = await CliRunner.RunAsync("qemu-args", "vm-a", "--demo", "/tmp/" + new string('d', 110));

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.StartsWith("ivshmemd qemu-args: error: runtime directory '/tmp/ddd", Assert.Single(result.ErrorLines));
        Assert.DoesNotContain("Parameter", result.Error);
    }

    [Fact]
    public async Task ConfigAndDemoTogetherAreAUsageError()
    {
        CliResult result = await CliRunner.RunAsync("qemu-args", "vm-a", "--config", "/etc/ivshmemd/ivshmemd.yaml", "--demo", "/tmp/demo");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal("ivshmemd qemu-args: error: --config and --demo exclude each other: --demo prints the options for the built-in configuration", result.ErrorLines[0]);
    }

    [Theory]
    [InlineData("qemu-args")]
    [InlineData("qemu-args", "web", "--format", "json")]
    [InlineData("qemu-args", "web", "extra")]
    [InlineData("qemu-args", "web", "--config")]
    [InlineData("qemu-args", "web", "--demo")]
    public async Task CommandLineMistakesAreUsageErrors(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.EndsWith("Try 'ivshmemd qemu-args --help' for more information.", result.ErrorLines[^1]);
    }

    [Fact]
    public void ArgumentsForARegionAreExactlyTheDocumentedOnes()
    {
        var region = new RegionOptions { Name = "r1", SizeBytes = 1 << 20, SocketPath = "/run/x/r1.sock", Vectors = 3 };
        string port = $"pcie-root-port,id=ivshmem-rp-r1,chassis=200,slot={QemuArguments.RootPortSlot(region, [region])},pref64-reserve=2M";

        Assert.Equal(["-device", port, "-chardev", "socket,id=ivshmem-r1,path=/run/x/r1.sock", "-device", "ivshmem-doorbell,id=ivshmem-r1,chardev=ivshmem-r1,vectors=3,bus=ivshmem-rp-r1"],
            QemuArguments.For(region, [region]));
        Assert.Equal(["-device", port], QemuArguments.For(region, [region], QemuArguments.Wiring.RootPortOnly));
        Assert.Equal(["-chardev", "socket,id=ivshmem-r1,path=/run/x/r1.sock", "-device", "ivshmem-doorbell,id=ivshmem-r1,chardev=ivshmem-r1,vectors=3"],
            QemuArguments.For(region, [region], QemuArguments.Wiring.Plain));
    }

    [Theory]
    [InlineData("plain/path-1.sock", "plain/path-1.sock")]
    [InlineData("with space", "'with space'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("$HOME", "'$HOME'")]
    [InlineData("", "''")]
    public void ShellQuoteQuotesOnlyWhatNeedsIt(string word, string quoted) =>
        Assert.Equal(quoted, QemuArguments.ShellQuote(word));
}
