using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>packaging/systemd/ivshmemd.sysusers creates the group the example gives the control socket, user
/// ivshmem (the package's purge removes both), and the example's socket_group where it is missing.</summary>
public sealed class SysusersTests
{
    private const string SystemdSysusers = "/usr/bin/systemd-sysusers";

    [Fact]
    public async Task SysusersCreatesTheControlGroupOfTheExampleConfiguration()
    {
        Assert.True(File.Exists(SystemdSysusers), $"{SystemdSysusers} is missing: install the Debian package 'systemd'");
        string controlGroup = ConfigLoader.Load(RepositoryLayout.ExampleConfig, "/run/ivshmemd").Options?.ControlSocketGroup
            ?? throw new InvalidOperationException("the example sets no control_group");
        using var root = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(root.Path, "etc"));

        // A dry run against an empty root: parses the file and says what it would create.
        CliResult result = await ChildProcess.RunAsync(SystemdSysusers, [$"--root={root.Path}", "--dry-run", "-"],
            standardInput: File.ReadAllText(RepositoryLayout.Sysusers));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"Creating group '{controlGroup}'", result.Output + result.Error);
        Assert.Contains("Creating user 'ivshmem'", result.Output + result.Error);
        string socketGroup = ConfigLoader.Load(RepositoryLayout.ExampleConfig, "/run/ivshmemd").Options?.Regions[0].SocketGroup
            ?? throw new InvalidOperationException("the example's first region sets no socket_group");
        Assert.Contains($"Creating group '{socketGroup}'", result.Output + result.Error);
        Assert.DoesNotContain("Unknown", result.Output + result.Error);
        Assert.False(File.Exists(Path.Combine(root.Path, "etc", "group")), "a dry run must not write");
    }
}
