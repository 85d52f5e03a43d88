using static Ivshmem.Peer.Tests.HostPeer.HandshakeStrictnessTests;

using Ivshmem.Peer.Host;
namespace Ivshmem.Peer.Tests.HostPeer;

/// <summary>After the handshake: joins and departures are followed; anything QEMU would complain
/// about is noted and stray fds are closed, but the peer carries on (the data plane does not depend
/// on the server).</summary>
public sealed class AnnouncementTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void JoinAndDepartureAreFollowedAndADepartedPeerIsNoLongerRung()
    {
        using var server = new ScriptedServer(_dir);
        server.Region.Peers.Join(0, 1, Ring.PeerKind.HostProcess, "me");
        using Peer.Host.HostPeer peer = Connect(server, s => s.SendHandshake(1, 2));
        var joined = new System.Collections.Concurrent.ConcurrentQueue<int>();
        var left = new System.Collections.Concurrent.ConcurrentQueue<int>();
        peer.PeerConnected += joined.Enqueue;
        peer.PeerDisconnected += left.Enqueue;
        int v0 = server.EventFd(), v1 = server.EventFd();

        server.Send(4, v0);
        server.Send(4, v1);
        Assert.True(peer.WaitForPeer(4, TimeSpan.FromSeconds(10)));
        Ring.IRingSignal doorbell = peer.Doorbell(4, 1);
        doorbell.Ring();
        Assert.Equal(1UL, ReadEventFd(v1));

        server.Send(4);
        Assert.True(peer.WaitForDeparture(4, TimeSpan.FromSeconds(10)));
        doorbell.Ring(); // silently nothing, like a guest's Doorbell write to a peer that is gone
        Assert.Equal(0UL, ReadEventFd(v1));
        // The events come from the reader thread, just after the state the waits look at.
        Eventually(() => left.Count == 1, () => $"joined {string.Join(",", joined)} left {string.Join(",", left)}");
        Assert.Equal([4], joined);
        Assert.Equal([4], left);
        Assert.Empty(peer.Problems);
    }

    [Fact]
    public void ViolationsAfterTheHandshakeAreNotedAndThePeerCarriesOn()
    {
        using var server = new ScriptedServer(_dir);
        server.Region.Peers.Join(0, 1, Ring.PeerKind.HostProcess, "me");
        using Peer.Host.HostPeer peer = Connect(server, s => s.SendHandshake(1, 1), vectors: 1);

        server.Send(4, server.EventFd());
        server.Send(4, server.EventFd());  // one more than the vectors
        server.Send(1);                    // departure of itself
        server.Send(9);                    // departure of a stranger
        server.Send(-1, server.MemoryFd);  // a second memory
        server.Send(4);
        server.Send(4);                    // a second departure
        server.Send(4, server.EventFd());  // an id coming back
        server.Send(70000);                // out of range
        Eventually(() => peer.Problems.Count == 7, () => string.Join("\n", peer.Problems));

        Assert.Collection(peer.Problems,
            p => Assert.Contains("Too many eventfd received", p),
            p => Assert.Contains("own id 1", p),
            p => Assert.Contains("never announced", p),
            p => Assert.Contains("unexpected shared memory message", p),
            p => Assert.Contains("a second departure for peer 4", p),
            p => Assert.Contains("ids must never come back", p),
            p => Assert.Contains("invalid message 70000", p));
        Assert.True(peer.IsServerConnected);
    }

    [Fact]
    public void ServerGoneLeavesMemoryAndDoorbellsWorking()
    {
        using var server = new ScriptedServer(_dir);
        server.Region.Peers.Join(0, 1, Ring.PeerKind.HostProcess, "me");
        using Peer.Host.HostPeer peer = Connect(server, s => s.SendHandshake(1, 2));
        int told = 0;
        peer.ServerDisconnected += () => Interlocked.Increment(ref told);

        server.CloseClient();

        Assert.True(peer.WaitForServerGone(TimeSpan.FromSeconds(10)));
        Eventually(() => Volatile.Read(ref told) == 1, () => "ServerDisconnected was raised");
        peer.Memory.WriteInt64(8192, 5);
        Assert.Equal(5, server.Mapping.Memory.ReadInt64(8192));
        peer.Doorbell(1, 0).Ring();
        Assert.Equal(1UL, ReadEventFd(peer.OwnEventFd(0)));
    }

    private static unsafe ulong ReadEventFd(int fd)
    {
        ulong value = 0;
        return Tmds.Linux.LibC.read(fd, &value, 8) == 8 ? value : 0;
    }

    private static void Eventually(Func<bool> condition, Func<string> what)
    {
        long deadline = Environment.TickCount64 + 10_000;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline) Assert.Fail($"timed out; so far: {what()}");
            Thread.Sleep(5);
        }
    }
}
