using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Cli;

/// <summary>The built ivshmemd executable as a child process: exit codes as a shell sees them, and
/// environment-dependent defaults (which an in-process test must not change).</summary>
public sealed class BuiltBinaryTests
{
    [Fact]
    public async Task ExitCodesAreZeroTwoAndSeventyEightForAnInvalidConfiguration()
    {
        using var temp = new TempDirectory();
        string good = temp.Write("good.yaml", CliTestConfigs.TwoRegions);
        string bad = temp.Write("bad.yaml", CliTestConfigs.Invalid);

        CliResult ok = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["check-config", good]);
        CliResult invalid = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["check-config", bad]);
        CliResult notStarted = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["run", "--config", bad]);
        CliResult usage = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["check-config", "--no-such-option"]);
        CliResult help = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["--help"]);

        Assert.Equal(ExitCodes.Ok, ok.ExitCode);
        Assert.StartsWith($"{good}: ok: 2 regions", ok.Output);
        // 78 (EX_CONFIG) is what the unit's RestartPreventExitStatus= names.
        Assert.Equal(78, invalid.ExitCode);
        Assert.StartsWith($"{bad}:3:11: error:", invalid.Error);
        Assert.Equal("", invalid.Output);
        Assert.Equal(78, notStarted.ExitCode);
        Assert.StartsWith($"{bad}:3:11: error:", notStarted.Error);
        Assert.Equal(ExitCodes.Usage, usage.ExitCode);
        Assert.Equal(ExitCodes.Ok, help.ExitCode);
        Assert.StartsWith("NAME\n       ivshmemd - ", help.Output);
    }

    [Fact]
    public async Task RuntimeDirectoryFromSystemdIsTheDefaultForSockets()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", "regions:\n  - { name: r, size: 64M, vms: [a, b] }\n");

        // systemd sets RUNTIME_DIRECTORY; with several RuntimeDirectory= entries it is a ':' list.
        CliResult fromSystemd = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["qemu-args", "a", "--config", path],
            environment: new Dictionary<string, string?> { ["RUNTIME_DIRECTORY"] = "/run/from-systemd:/run/second" });
        CliResult without = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["qemu-args", "a", "--config", path],
            environment: new Dictionary<string, string?> { ["RUNTIME_DIRECTORY"] = null });

        Assert.Equal(0, fromSystemd.ExitCode);
        Assert.Contains("path=/run/from-systemd/r.sock ", fromSystemd.Output);
        Assert.Equal(0, without.ExitCode);
        Assert.Contains("path=/run/ivshmemd/r.sock ", without.Output);
    }
}
