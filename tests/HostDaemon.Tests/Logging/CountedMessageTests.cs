using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Logging;

/// <summary>Log messages with a count say "1 error" and "2 errors", never "1 errors", and keep their
/// event ids.</summary>
public sealed class CountedMessageTests
{
    private static string Logged(Action<CapturingLogger> log, int eventId)
    {
        var logger = new CapturingLogger();
        log(logger);
        return Assert.Single(logger.WithEvent(eventId)).Message;
    }

    [Fact]
    public void ReloadRejectedSaysOneErrorAndTwoErrors()
    {
        Assert.Equal("Reload failed: 1 error in /etc/x.yaml; still serving the previous configuration",
            Logged(l => l.ReloadRejected(1, "/etc/x.yaml"), 5002));
        Assert.Equal("Reload failed: 2 errors in /etc/x.yaml; still serving the previous configuration",
            Logged(l => l.ReloadRejected(2, "/etc/x.yaml"), 5002));
    }

    [Theory]
    [InlineData(1, "1 region (1 peer restored)")]
    [InlineData(2, "2 regions (2 peers restored)")]
    public void ServerStartedCountsRegionsAndPeers(int count, string expected)
    {
        Assert.Equal($"Serving {expected}", Logged(l => l.ServerStarted(count, count), 1000));
    }

    [Fact]
    public void ZeroIsPlural()
    {
        Assert.Equal("Serving 1 region (0 peers restored)", Logged(l => l.ServerStarted(1, 0), 1000));
        Assert.Equal("Stopping: closing 0 peer connections (their VMs keep their memory and doorbells)", Logged(l => l.ServerStopping(0), 1010));
    }

    [Fact]
    public void PeerCountsAgreeWithTheirNouns()
    {
        Assert.Equal("Stopping: closing 1 peer connection (their VMs keep their memory and doorbells)", Logged(l => l.ServerStopping(1), 1010));
        Assert.Contains("(1 peer still connected)", Logged(l => l.RegionRetiring("a", 1), 1004));
        Assert.Contains("(2 peers still connected)", Logged(l => l.RegionRetiring("a", 2), 1004));
        Assert.Contains("but has 1 peer;", Logged(l => l.RegionChangeDeferred("a", 1), 1005));
        Assert.Contains(": 1 peer of the previous instance resumed", Logged(l => l.RegionRestored("a", 1, 0, 0, 1), 4001));
        Assert.Contains(": 3 peers of the previous instance resumed", Logged(l => l.RegionRestored("a", 3, 0, 0, 3), 4001));
        Assert.Contains(", 1 vector, 2 peer slots,", Logged(l => l.RegionListening("a", 65536, "memfd", 1, 2, "/run/a.sock"), 1001));
        Assert.Contains(", 2 vectors, 2 peer slots,", Logged(l => l.RegionListening("a", 65536, "memfd", 2, 2, "/run/a.sock"), 1001));
    }
}
