using System.Text.RegularExpressions;
using Ivshmem.Daemon.Cli;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Doctor;

/// <summary>doctor on this machine as it is, through the command line: the shipped configuration
/// (packaging/ivshmemd.yaml) and the default one. Which checks pass depends on the machine; the form
/// of the output and the exit status's rule do not.</summary>
public sealed partial class RealHostTests
{
    [GeneratedRegex(@"^(PASS|WARN|FAIL)  (?<check>[a-z-]+): \S.*$")]
    private static partial Regex CheckLine();

    [GeneratedRegex(@"^ivshmemd doctor: (?<n>\d+) checks: (?<pass>\d+) passed, (?<warn>\d+) warnings?, (?<fail>\d+) failed$")]
    private static partial Regex CountLine();

    [Fact]
    public async Task TheShippedConfigurationOnThisMachine()
    {
        CliResult result = await CliRunner.RunAsync("doctor", "--config", RepositoryLayout.ExampleConfig);

        Assert.Equal("", result.Error);
        string[] lines = [.. result.OutputLines];
        string[] checks = AssertWellFormed(lines, result.ExitCode);
        // Every check runs for a valid configuration, in the documented order (some name several lines).
        Assert.Equal(
            ["qemu", "qemu-ivshmem", "config", "user", "group", "socket-dir", "socket-access", "apparmor", "selinux",
             "hugepages", "shm-space", "memory", "memlock", "daemon"],
            checks.Distinct().Where(c => c != "socket-path"));
        Assert.Contains($"PASS  config: {RepositoryLayout.ExampleConfig} is valid: 1 region", lines);
    }

    [Fact]
    public async Task TheDefaultConfigurationOnThisMachine()
    {
        CliResult result = await CliRunner.RunAsync("doctor");

        string[] lines = [.. result.OutputLines];
        string[] checks = AssertWellFormed(lines, result.ExitCode);
        Assert.Equal("qemu", checks[0]);
        Assert.Contains("config", checks);
        if (!File.Exists(DefaultPaths.ConfigFile))
            Assert.StartsWith($"FAIL  config: {DefaultPaths.ConfigFile}:1:1: error: cannot read the configuration: no such file", lines.Single(l => l.Contains("  config: ", StringComparison.Ordinal)));
    }

    /// <summary>Every line a check line but the last, which counts them; exit status 1 exactly when a
    /// line says FAIL. Returns the check names in order.</summary>
    private static string[] AssertWellFormed(string[] lines, int exitCode)
    {
        Assert.True(lines.Length >= 3, string.Join('\n', lines));
        Assert.All(lines[..^1], l => Assert.Matches(CheckLine(), l));
        Match count = CountLine().Match(lines[^1]);
        Assert.True(count.Success, lines[^1]);
        int failed = lines.Count(l => l.StartsWith("FAIL", StringComparison.Ordinal));
        Assert.Equal(lines.Length - 1, int.Parse(count.Groups["n"].Value));
        Assert.Equal(failed, int.Parse(count.Groups["fail"].Value));
        Assert.Equal(lines.Count(l => l.StartsWith("WARN", StringComparison.Ordinal)), int.Parse(count.Groups["warn"].Value));
        Assert.Equal(failed > 0 ? ExitCodes.Failure : ExitCodes.Ok, exitCode);
        // Every WARN and FAIL says what to do.
        Assert.All(lines.Where(l => !l.StartsWith("PASS", StringComparison.Ordinal) && l != lines[^1]), l => Assert.Contains("; fix: ", l));
        return lines[..^1].Select(l => CheckLine().Match(l).Groups["check"].Value).ToArray();
    }

    [Fact]
    public async Task CheckConfigWarnsOfWhatRunWouldFailOnAndStillExitsZero()
    {
        using var temp = new TempDirectory();
        string missing = Path.Combine(temp.Path, "no-such-dir");
        string path = temp.Write("ivshmemd.yaml", $"""
            runtime_directory: {temp.Path}/run
            control_group: ivd-no-such-group
            regions:
              - name: web-db
                size: 1M
                vms: [web]
                host_users: [ivd-no-such-user]
                socket: {missing}/web-db.sock
            """);

        CliResult result = await CliRunner.RunAsync("check-config", path);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.StartsWith($"{path}: ok: 1 region: web-db ", Assert.Single(result.OutputLines));
        Assert.Equal(
        [
            $"{path}: warning: control_group 'ivd-no-such-group' is not a group on this host; 'ivshmemd run' stops at the control socket (\"there is no group 'ivd-no-such-group'\"); fix: create it (groupadd --system ivd-no-such-group) or correct control_group in {path}",
            $"{path}: warning: {missing} (sockets of region 'web-db') does not exist, and 'ivshmemd run' creates only the runtime directory, so it does not start; fix: mkdir -p {missing} (for the packaged unit also add it to ReadWritePaths=), or put the socket in the runtime directory",
        ], result.ErrorLines);
    }
}
