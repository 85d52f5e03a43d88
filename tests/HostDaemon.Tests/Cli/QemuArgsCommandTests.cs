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
            "-chardev socket,id=ivshmem-web-db,path=/run/ivshmemd/web-db.sock -device ivshmem-doorbell,chardev=ivshmem-web-db,vectors=2",
            // The comma in the path is doubled for QEMU; the space makes the shell quoting necessary.
            "-chardev 'socket,id=ivshmem-web-cache,path=/srv/ivshmem/web cache,,v2.sock' -device ivshmem-doorbell,chardev=ivshmem-web-cache,vectors=4",
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
            "-chardev",
            "socket,id=ivshmem-web-cache,path=/srv/ivshmem/web cache,,v2.sock",
            "-device",
            "ivshmem-doorbell,chardev=ivshmem-web-cache,vectors=4",
        ], result.OutputLines);
    }

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
        Assert.Equal(QemuArguments.For(region), result.OutputLines);
        Assert.Equal(
            ["-chardev", "socket,id=ivshmem-demo,path=/tmp/ivshmemd-demo/demo.sock", "-device", "ivshmem-doorbell,chardev=ivshmem-demo,vectors=2"],
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
    public void ArgumentsForARegionAreExactlyTheDocumentedPair()
    {
        var region = new RegionOptions { Name = "r1", SizeBytes = 1 << 20, SocketPath = "/run/x/r1.sock", Vectors = 3 };

        Assert.Equal(["-chardev", "socket,id=ivshmem-r1,path=/run/x/r1.sock", "-device", "ivshmem-doorbell,chardev=ivshmem-r1,vectors=3"],
            QemuArguments.For(region));
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
