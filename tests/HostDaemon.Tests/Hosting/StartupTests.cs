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
        Assert.DoesNotContain(systemd.Datagrams, d => d.Is("READY=1"));
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
