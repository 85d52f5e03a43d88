using System.Text;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Scale;

/// <summary>
/// 256 peers across 64 regions: well past what a select() server can hold (each peer costs a socket
/// and an eventfd per vector), and nothing may leak: the daemon process's fd count (/proc/PID/fd) is
/// the same before the peers come and after they have gone. The daemon runs as its own process so
/// that no other test's fds are counted.
/// </summary>
public sealed class ManyPeersTests
{
    [Fact]
    public async Task TwoHundredFiftySixPeersAcrossSixtyFourRegionsJoinAndLeaveWithoutLeakingFds()
    {
        using var dir = new TestDirectory();
        var regions = new StringBuilder();
        for (int i = 0; i < 64; i++) regions.Append(ServiceUnderTest.Region($"s{i}", size: "64K", maxPeers: 4));
        using var service = ServiceUnderTest.Start(dir, regions.ToString());
        // One round first, so that whatever the runtime opens once (and keeps) is open before counting.
        await JoinAndLeave(service, 64);
        int fdsBefore = NativeFds.CountOpen(service.Process.Pid);

        var peers = await JoinAll(service, 256);
        Assert.Equal(256 * (1 + 2), NativeFds.CountOpen(service.Process.Pid) - fdsBefore); // a socket and two eventfds each
        foreach (IGrouping<string, HostPeer> region in peers.GroupBy(p => p.SocketPath))
            foreach (HostPeer p in region)
                Assert.Equal(region.Where(o => o != p).Select(o => o.OwnId).Order(),
                    p.Region.Peers.ReadAll().Where(e => e.IsPresent && e.PeerId != p.OwnId).Select(e => e.PeerId).Order());
        foreach (HostPeer p in peers) p.Dispose();
        await WaitForPeerCount(service, 0);

        Assert.Equal(fdsBefore, NativeFds.CountOpen(service.Process.Pid));
    }

    private static async Task JoinAndLeave(ServiceUnderTest service, int count)
    {
        foreach (HostPeer p in await JoinAll(service, count)) p.Dispose();
        await WaitForPeerCount(service, 0);
    }

    private static async Task<HostPeer[]> JoinAll(ServiceUnderTest service, int count)
    {
        var peers = new HostPeer[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => peers[i] = HostPeer.Connect(service.SocketOf($"s{i % 64}"), new HostPeerOptions { TrackPeers = false }));
        await WaitForPeerCount(service, count);
        return peers;
    }

    private static async Task WaitForPeerCount(ServiceUnderTest service, int count)
    {
        string expected = $"STATUS=64 regions, {count} peer{(count == 1 ? "" : "s")} ";
        await Eventually.TrueAsync(() => service.Systemd.Datagrams.LastOrDefault(d => d.Text.StartsWith("STATUS=", StringComparison.Ordinal))?.Text.StartsWith(expected, StringComparison.Ordinal) == true,
            $"the daemon reports {count} peers");
    }
}
