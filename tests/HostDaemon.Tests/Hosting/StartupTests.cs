using System.Text.RegularExpressions;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Hosting;

/// <summary>What the process does when it cannot start, and in demo mode.</summary>
public sealed class StartupTests
{
    [Fact]
    public void RegionThatCannotBeSetUpStopsTheStartWithExitStatusOneTheReasonAndNoReady()
    {
        using var dir = new TestDirectory();
        File.WriteAllText(dir.File("a.sock"), "in the way");
        File.WriteAllText(dir.File("ivshmemd.yaml"), ServiceUnderTest.Yaml(dir, ServiceUnderTest.Region("a")));
        using var systemd = new FakeSystemd(dir);

        using SpawnedProcess process = systemd.StartService([ServiceUnderTest.Binary, "run", "--config", dir.File("ivshmemd.yaml")], dir.File("log"));

        Assert.Equal(1, process.WaitForExit());
        Assert.Contains($"region 'a': {dir.File("a.sock")} exists and is not a socket", process.Log);
        // Said once (not again as "ivshmemd run: error: ..."), without a stack trace.
        Assert.Single(process.Log.Split('\n'), l => l.Contains("exists and is not a socket", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", process.Log);
        Assert.DoesNotContain(systemd.Datagrams, d => d.Is("READY=1"));
    }

    /// <summary>Socket paths nobody may create, root included (sysfs takes no sockets), and one in
    /// a directory that does not exist.</summary>
    public static TheoryData<string, string, string> UnusableSocketPaths() => new()
    {
        { "region", "/sys/ivshmemd-test-region.sock", @"region 'a': bind /sys/ivshmemd-test-region\.sock: (Operation not permitted|Permission denied) \(errno (1|13)\)" },
        { "control", "/sys/ivshmemd-test-control.sock", @"control socket: bind /sys/ivshmemd-test-control\.sock: (Operation not permitted|Permission denied) \(errno (1|13)\)" },
        { "region", "{dir}/missing/a.sock", @"region 'a': {dir}/missing/a\.sock: directory {dir}/missing does not exist; create it \(ivshmemd creates only runtime_directory\) or choose another socket path" },
    };

    [Theory]
    [MemberData(nameof(UnusableSocketPaths))]
    public async Task SocketThatCannotBeCreatedFailsTheStartWithOneErrorLineAndNoStackTrace(string which, string socket, string reason)
    {
        using var dir = new TestDirectory();
        socket = socket.Replace("{dir}", dir.Path);
        reason = reason.Replace("{dir}", Regex.Escape(dir.Path));
        string region = which == "region" ? ServiceUnderTest.Region("a", extra: $", socket: {socket}") : ServiceUnderTest.Region("a");
        string yaml = ServiceUnderTest.Yaml(dir, region);
        if (which == "control") yaml = yaml.Replace($"control_socket: {dir.File("control.sock")}", $"control_socket: {socket}");
        File.WriteAllText(dir.File("ivshmemd.yaml"), yaml);

        CliResult result = await ChildProcess.RunAsync(ServiceUnderTest.Binary, ["run", "--config", dir.File("ivshmemd.yaml")],
            environment: new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = null, ["LISTEN_FDS"] = null, ["WATCHDOG_USEC"] = null });

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal("", result.Output);
        // Progress at info level may come first (the region listened before the control socket
        // failed); the failure itself is one line at crit, and nothing else is an error.
        string[] problems = result.ErrorLines.Where(l => !l.Contains(" info: ", StringComparison.Ordinal)).ToArray();
        string line = Assert.Single(problems);
        Assert.Matches($@"^\d\d:\d\d:\d\d\.\d{{3}} crit: ivshmemd\[5007\] Could not start: {reason}$", line);
        Assert.DoesNotContain("Exception", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.False(File.Exists(dir.File("a.sock")), "a socket of the failed start was left behind");
        Assert.False(File.Exists(dir.File("control.sock")), "the control socket of the failed start was left behind");
    }

    [Fact]
    public void SighupInheritedAsIgnoredStillReloads()
    {
        // nohup (or a shell's "trap '' HUP") starts the daemon with SIGHUP ignored, which .NET would keep.
        using var dir = new TestDirectory();
        using var systemd = new FakeSystemd(dir);
        string runtime = dir.File("demo");
        using SpawnedProcess process = systemd.StartService(
            ["/bin/sh", "-c", "trap '' HUP; exec \"$0\" \"$@\"", ServiceUnderTest.Binary, "run", "--demo", runtime], dir.File("log"));
        int ready = systemd.WaitForLine("READY=1");
        Eventually.True(() => process.Log.Contains("ivshmemd[5010] SIGHUP was ignored when the daemon started"), "the daemon said it took SIGHUP back");

        process.Signal(1); // SIGHUP

        int reloading = systemd.WaitFor(d => d.Text.StartsWith("RELOADING=1", StringComparison.Ordinal), "RELOADING=1", ready);
        systemd.WaitForLine("READY=1", reloading);
        process.Signal(15);
        Assert.Equal(0, process.WaitForExit());
    }

    [Fact]
    public void DemoModeRunsUnprivilegedShapedAndTakesSighupWithoutAConfigFile()
    {
        using var dir = new TestDirectory();
        using var systemd = new FakeSystemd(dir);
        string runtime = dir.File("demo");
        using SpawnedProcess process = systemd.StartService([ServiceUnderTest.Binary, "run", "--demo", runtime], dir.File("log"));
        int ready = systemd.WaitForLine("READY=1");
        Assert.True(File.Exists(Path.Combine(runtime, "demo.sock")));

        process.Signal(1); // SIGHUP

        int reloading = systemd.WaitFor(d => d.Text.StartsWith("RELOADING=1", StringComparison.Ordinal), "RELOADING=1", ready);
        systemd.WaitForLine("READY=1", reloading);
        Eventually.True(() => process.Log.Contains("nothing to reload"), "the daemon said there is nothing to reload");
        process.Signal(15);
        Assert.Equal(0, process.WaitForExit());
        systemd.WaitForLine("STOPPING=1", ready);
    }
}
