using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Cli;

/// <summary>run and status up to the hand-over to the daemon: what the command line decides itself.</summary>
public sealed class RunAndStatusCommandTests
{
    [Fact]
    public async Task RunWithAnInvalidConfigurationStartsNothingAndExitsWithExConfig()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.Invalid);

        CliResult result = await CliRunner.RunAsync("run", "--config", path);

        Assert.Equal(ExitCodes.Config, result.ExitCode);
        Assert.Equal(
        [
            $"{path}:3:11: error: 'size' 3M (3145728 bytes) is not a power of two, and QEMU aborts on such a BAR size; use 2M or 4M",
            $"{path}:5:14: error: 'vectors' is 0; it must be from 1 to 64 (the Doorbell register reaches 256 vectors, but the reference ivshmem-server caps at 64 and each vector costs every peer an eventfd per peer)",
            $"ivshmemd run: 2 errors in {path}",
            "ivshmemd run: not started: the configuration is not valid",
        ], result.ErrorLines);
    }

    [Fact]
    public async Task RunWithAMissingConfigurationExitsWithExConfig()
    {
        using var temp = new TempDirectory();

        CliResult result = await CliRunner.RunAsync("run", "--config", Path.Combine(temp.Path, "absent.yaml"));

        Assert.Equal(ExitCodes.Config, result.ExitCode);
        Assert.Contains("cannot read the configuration: no such file", result.Error);
    }

    [Fact]
    public async Task ConfigAndDemoTogetherAreAUsageError()
    {
        CliResult result = await CliRunner.RunAsync("run", "--config", "/etc/ivshmemd/ivshmemd.yaml", "--demo", "/tmp/demo");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("ivshmemd run: error: --config and --demo exclude each other: --demo serves the built-in configuration", result.ErrorLines[0]);
    }

    [Fact]
    public async Task DemoInADirectoryTooLongForSocketsExitsOneWithTheReason()
    {
        CliResult result = await CliRunner.RunAsync("run", "--demo", "/tmp/" + new string('d', 110));

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("ivshmemd run: error: runtime directory '/tmp/ddd", line);
        Assert.DoesNotContain("Parameter", line);
    }

    [Theory]
    [InlineData("run", "--demo")]
    [InlineData("run", "extra")]
    [InlineData("status", "--socket")]
    [InlineData("status", "--json", "extra")]
    [InlineData("status", "--verbose")]
    public async Task CommandLineMistakesAreUsageErrors(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.EndsWith($"Try 'ivshmemd {args[0]} --help' for more information.", result.ErrorLines[^1]);
    }
}
