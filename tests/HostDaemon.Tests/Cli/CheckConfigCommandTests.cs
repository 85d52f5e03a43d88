using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Cli;

public sealed class CheckConfigCommandTests
{
    [Fact]
    public async Task ValidConfigurationExitsZeroWithAOneLineSummary()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("check-config", path);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        // What this host lacks for 'run' (group ivshmem, /srv/ivshmem) comes as warnings; nothing else.
        Assert.All(result.ErrorLines, l => Assert.StartsWith($"{path}: warning: ", l));
        string line = Assert.Single(result.OutputLines);
        Assert.Equal(
            $"{path}: ok: 2 regions: web-db (64 MiB memfd, 2 vectors, 3 peers max: vm web, vm db, user bench); " +
            "web-cache (1 GiB hugetlbfs, 4 vectors, 2 peers max: vm web, vm cache); control socket /run/ivshmemd/control.sock",
            line);
    }

    [Fact]
    public async Task ARegionOfMoreThanTwoPeersIsNotedAsOneTrustDomainAndStillValid()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("check-config", path);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        // web-db admits vm web, vm db and user bench; web-cache only two VMs, so it is not noted.
        Assert.Contains($"{path}: warning: region 'web-db' admits 3 peers (vm web, vm db, user bench); a region is one trust domain: " +
            "each of them can read the others' rings and pass itself off as another; fix: where peers do not trust each other, " +
            "give each pair a region of its own (docs/ring.md, 'One region, one trust domain')", result.ErrorLines);
        Assert.DoesNotContain(result.ErrorLines, l => l.Contains("region 'web-cache' admits"));
    }

    [Fact]
    public async Task InvalidConfigurationExitsWithExConfigAndEveryErrorOnStandardError()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.Invalid);

        CliResult result = await CliRunner.RunAsync("check-config", path);

        Assert.Equal(ExitCodes.Config, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal(
        [
            $"{path}:3:11: error: 'size' 3M (3145728 bytes) is not a power of two, and QEMU aborts on such a BAR size; use 2M or 4M",
            $"{path}:5:14: error: 'vectors' is 0; it must be from 1 to 64 (the Doorbell register reaches 256 vectors, but the reference ivshmem-server caps at 64 and each vector costs every peer an eventfd per peer)",
            $"ivshmemd check-config: 2 errors in {path}",
        ], result.ErrorLines);
    }

    [Fact]
    public async Task MissingFileExitsWithExConfigAndSaysSo()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "absent.yaml");

        CliResult result = await CliRunner.RunAsync("check-config", path);

        Assert.Equal(ExitCodes.Config, result.ExitCode);
        Assert.StartsWith($"{path}:1:1: error: cannot read the configuration: no such file", result.ErrorLines[0]);
    }

    [Fact]
    public async Task WithoutAFileItChecksTheInstalledConfiguration()
    {
        CliResult result = await CliRunner.RunAsync("check-config");

        // Either outcome proves which file was read; which one depends on the machine.
        if (result.ExitCode == ExitCodes.Ok)
        {
            Assert.StartsWith(DefaultPaths.ConfigFile + ": ok: ", result.Output);
        }
        else
        {
            Assert.Equal(ExitCodes.Config, result.ExitCode);
            Assert.StartsWith(DefaultPaths.ConfigFile + ":", result.Error);
        }
    }

    [Fact]
    public async Task TwoFilesAreAUsageError()
    {
        CliResult result = await CliRunner.RunAsync("check-config", "a.yaml", "b.yaml");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Contains("'b.yaml'", result.Error);
    }
}
