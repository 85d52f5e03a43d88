using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Server;

/// <summary>Applying a new configuration to the running server core: live regions are never pulled
/// from under their peers.</summary>
public sealed class ReloadTests
{
    [Fact]
    public async Task RemovedRegionWithPeersStopsAcceptingAndGoesWhenItsLastPeerLeaves()
    {
        using var server = new RunningServer(TestConfig.Region("a"), TestConfig.Region("b"));
        HostPeer peer = server.Connect("b");

        ReloadOutcome outcome = await server.Server.ApplyAsync(TestConfig.Daemon(server.Directory, TestConfig.Region("a")));

        Assert.Equal(["b"], outcome.Retiring);
        Assert.False(File.Exists(server.SocketOf("b")));
        Assert.Equal("retiring", server.RegionStatus("b").State);
        Assert.True(peer.IsServerConnected);

        peer.Dispose();
        Eventually.True(() => server.Server.Status.Regions.All(r => r.Name != "b"), "region b went away with its last peer");
        Assert.Contains(server.Log.WithEvent(1003), e => e.Message.Contains("'b'"));
    }

    [Fact]
    public async Task ChangedRegionWithPeersKeepsItsMemoryUntilThePeersLeaveThenTheChangeApplies()
    {
        using var server = new RunningServer(TestConfig.Region("a", size: 1 << 20));
        HostPeer peer = server.Connect("a");
        ulong formatId = peer.Region.FormatId;

        ReloadOutcome outcome = await server.Server.ApplyAsync(TestConfig.Daemon(server.Directory, TestConfig.Region("a", size: 2 << 20)));

        Assert.Equal(["a"], outcome.Deferred);
        Assert.Equal(("changed", 1L << 20), (server.RegionStatus("a").State, server.RegionStatus("a").SizeBytes));
        HostPeer second = server.Connect("a");
        Assert.Equal(formatId, second.Region.FormatId); // same memory for newcomers while the old peers are there

        peer.Dispose();
        second.Dispose();
        Eventually.True(() => server.RegionStatus("a").SizeBytes == 2 << 20, "the change applied once the peers had left");
        using HostPeer later = HostPeer.Connect(server.SocketOf("a"));
        Assert.Equal(2L << 20, later.Memory.Length);
        Assert.NotEqual(formatId, later.Region.FormatId);
        Assert.Equal(second.OwnId + 1, later.OwnId); // new memory, but the ids go on
    }

    [Fact]
    public async Task UnchangedRegionKeepsItsPeersAndANewRegionThatCannotBeCreatedIsReported()
    {
        using var server = new RunningServer(TestConfig.Region("a"));
        HostPeer peer = server.Connect("a");
        File.WriteAllText(server.Directory.File("bad.sock"), "not a socket");

        ReloadOutcome outcome = await server.Server.ApplyAsync(TestConfig.Daemon(server.Directory, TestConfig.Region("a"), TestConfig.Region("bad"), TestConfig.Region("good")));

        Assert.Equal(["good"], outcome.Added);
        Assert.Contains("not a socket", Assert.Single(outcome.Failed));
        Assert.Equal([peer.OwnId], server.RegionStatus("a").Peers.Select(p => p.Id));
        Assert.True(File.Exists(server.Directory.File("good.sock")));
    }
}
