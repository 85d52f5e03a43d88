
namespace Ivshmem.Daemon.Tests.Cli;

/// <summary>Exit status 2 and a pointer to --help for anything wrong with the command line itself.</summary>
public sealed class UsageErrorTests
{
    [Fact]
    public async Task NoCommandIsAUsageErrorThatListsTheCommands()
    {
        CliResult result = await CliRunner.RunAsync();

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal(
        [
            "ivshmemd: error: no command given; use one of: run, check-config, qemu-args, libvirt-xml, status, attach, detach, doctor",
            "Try 'ivshmemd --help' for more information.",
        ], result.ErrorLines);
    }

    [Fact]
    public async Task UnknownCommandIsAUsageError()
    {
        CliResult result = await CliRunner.RunAsync("start");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal("ivshmemd: error: Unrecognized command or argument 'start'.", result.ErrorLines[0]);
        Assert.Equal("Try 'ivshmemd --help' for more information.", result.ErrorLines[^1]);
    }

    [Fact]
    public async Task UnknownOptionIsAUsageErrorOfItsCommand()
    {
        CliResult result = await CliRunner.RunAsync("check-config", "--strict");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("ivshmemd check-config: error: unknown option '--strict'; see --help for the options, or write ./-name for a FILE whose name starts with '-'", result.ErrorLines[0]);
        Assert.Equal("Try 'ivshmemd check-config --help' for more information.", result.ErrorLines[^1]);
    }

    [Fact]
    public async Task AtSignIsAnArgumentNotAResponseFile()
    {
        // System.CommandLine would read arguments from a file for "@name"; VM names are data.
        using var temp = new Configuration.TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("qemu-args", "@web", "--config", path);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("admits VM '@web'", result.Error);
    }

    [Theory]
    [InlineData("qemu-args", "--vm")]
    [InlineData("libvirt-xml", "-x")]
    public async Task UnknownOptionInPlaceOfTheVmIsAUsageErrorNotAnUnknownVm(string command, string option)
    {
        CliResult result = await CliRunner.RunAsync(command, option);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.StartsWith($"ivshmemd {command}: error: unknown option '{option}'", result.ErrorLines[0]);
    }

    [Fact]
    public async Task FileWhoseNameStartsWithADashCanBeGivenWithItsDirectory()
    {
        using var temp = new Configuration.TempDirectory();
        temp.Write("-odd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["check-config", "./-odd.yaml"], workingDirectory: temp.Path);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
    }
}
