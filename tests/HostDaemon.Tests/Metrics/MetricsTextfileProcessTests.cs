using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Metrics;

/// <summary>The Prometheus textfile as the real daemon process writes it: it appears once the daemon
/// is up, follows the peers, passes promtool, and is removed on a clean stop so that node_exporter
/// does not export a dead daemon's figures.</summary>
public sealed class MetricsTextfileProcessTests
{
    private const int SIGTERM = 15;

    [Fact]
    public void TheDaemonWritesTheTextfileKeepsItCurrentAndRemovesItOnStop()
    {
        using var dir = new TestDirectory();
        string textfile = dir.File("ivshmemd.prom");
        string config = ServiceUnderTest.Yaml(dir, ServiceUnderTest.Region("a"))
            .Replace("regions:\n", $"metrics: {{textfile: {textfile}, interval: 1}}\nregions:\n");
        using var service = ServiceUnderTest.StartWithConfig(dir, config);

        Eventually.True(() => File.Exists(textfile) && File.ReadAllText(textfile).Contains("ivshmemd_region_peers{region=\"a\"} 0\n"),
            $"{textfile} with region a and no peers");
        using HostPeer peer = HostPeer.Connect(service.SocketOf("a"));
        Eventually.True(() => File.ReadAllText(textfile).Contains("ivshmemd_region_peers{region=\"a\"} 1\n"),
            $"{textfile} counting the peer that joined");
        (int exitCode, string output) = Promtool.CheckMetrics(File.ReadAllText(textfile));
        Assert.True(exitCode == 0, output);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp")); // written to a temporary and renamed: none left

        service.Process.Signal(SIGTERM);

        Assert.Equal(0, service.Process.WaitForExit());
        Assert.False(File.Exists(textfile));
    }
}
