using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Protocol;

/// <summary>Peer ids only grow: QEMU 7.2 corrupts its heap when an id comes back (docs/protocol.md,
/// "Peer ids").</summary>
public sealed class PeerIdTests
{
    [Fact]
    public void IdsGrowAndAreNeverReusedOverAThousandConnectCloseCycles()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 2));
        using HostPeer observer = server.Connect();
        var ids = new List<int>();
        for (int i = 0; i < 1000; i++)
        {
            using HostPeer peer = HostPeer.Connect(server.SocketOf(), new HostPeerOptions { TrackPeers = false });
            ids.Add(peer.OwnId);
            peer.Dispose();
            // The slot must be free again before the next one comes (max_peers 2), so wait for the
            // observer to hear of the departure: that is also the announcement under test.
            Assert.True(observer.WaitForDeparture(peer.OwnId, Eventually.DefaultTimeout), $"observer heard that {peer.OwnId} left");
        }

        Assert.Equal(Enumerable.Range(observer.OwnId + 1, 1000), ids);
        Assert.Empty(observer.Problems);
        // Every one of them was announced to the observer (n eventfds) and then as gone (bare id).
        var announced = observer.Messages.Skip(3 + 2).ToList();
        Assert.Equal(1000 * 3, announced.Count);
        Assert.Equal(observer.OwnId + 1001, server.RegionStatus().NextPeerId);
    }

    [Fact]
    public void RegionThatHandedOutEveryIdRefusesWhilePeersStayAndStartsAgainOnlyWhenEmpty()
    {
        // 65536 real connections would take a while; the ledger's counter is where the daemon keeps it.
        using var server = new RunningServer(TestConfig.Region(maxPeers: 2));
        HostPeer first = server.Connect();
        server.SetNextPeerId("r", 0x10000);

        var refused = Assert.Throws<ServerRefusedException>(() => server.Connect());
        Assert.Equal(4, refused.Code);

        first.Dispose();
        server.WaitForPeerCount(0);
        HostPeer again = server.Connect();
        Assert.Equal(0, again.OwnId); // nobody alive can have seen the old id 0
    }
}
