using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Protocol;

/// <summary>
/// The handshake as QEMU 7.2 expects it (docs/protocol.md, "The handshake, in order"), checked message
/// by message and fd by fd
/// with the strict host-peer client: version 0, own id, -1 + memfd, every existing peer's eventfds
/// (vector 0 first), own eventfds last; and every existing peer hears the newcomer's eventfds.
/// </summary>
public sealed class HandshakeTests
{
    public static TheoryData<int, int> PeersAndVectors()
    {
        var data = new TheoryData<int, int>();
        foreach (int peers in new[] { 1, 2, 3 })
            foreach (int vectors in new[] { 1, 2, 64 })
                data.Add(peers, vectors);
        return data;
    }

    [Theory]
    [MemberData(nameof(PeersAndVectors))]
    public void NewcomerHearsVersionIdMemoryEveryPeersEventFdsThenItsOwn(int peerCount, int vectors)
    {
        using var server = new RunningServer(TestConfig.Region(vectors: vectors, maxPeers: Math.Max(2, peerCount)));
        var peers = new List<HostPeer>();
        for (int k = 0; k < peerCount; k++)
        {
            HostPeer newcomer = server.Connect();
            var expected = new List<string> { "0", $"{newcomer.OwnId}", "-1 + memfd" };
            foreach (HostPeer existing in peers)
                expected.AddRange(Enumerable.Repeat($"{existing.OwnId} + eventfd", vectors));
            expected.AddRange(Enumerable.Repeat($"{newcomer.OwnId} + eventfd", vectors));
            Assert.Equal(expected, newcomer.Messages.Select(Describe));
            peers.Add(newcomer);
        }

        // Each peer, after its own handshake, heard exactly the eventfds of every later peer, in order.
        for (int i = 0; i < peerCount; i++)
        {
            int handshake = 3 + vectors * (i + 1);
            var later = peers.Skip(i + 1).SelectMany(p => Enumerable.Repeat($"{p.OwnId} + eventfd", vectors)).ToList();
            Assert.True(peers[i].WaitForMessages(handshake + later.Count, Eventually.DefaultTimeout), $"peer {peers[i].OwnId} heard of every later peer");
            Assert.Equal(later, peers[i].Messages.Skip(handshake).Select(Describe));
            Assert.Empty(peers[i].Problems);
        }
    }

    [Theory]
    [MemberData(nameof(PeersAndVectors))]
    public void EveryAnnouncedEventFdRingsThatPeersVector(int peerCount, int vectors)
    {
        using var server = new RunningServer(TestConfig.Region(vectors: vectors, maxPeers: Math.Max(2, peerCount)));
        var peers = Enumerable.Range(0, peerCount).Select(_ => server.Connect()).ToList();
        foreach (HostPeer p in peers)
            foreach (HostPeer other in peers.Where(o => o != p))
                Assert.True(p.WaitForPeer(other.OwnId, Eventually.DefaultTimeout), $"peer {p.OwnId} has all eventfds of {other.OwnId}");
        // The daemon rang control vectors on every join: start from quiet eventfds.
        foreach (HostPeer p in peers)
            for (int v = 0; v < vectors; v++) NativeFds.ReadEventFd(p.OwnEventFd(v));

        foreach (HostPeer sender in peers)
            foreach (HostPeer target in peers)
                for (int v = 0; v < vectors; v++)
                {
                    Assert.True(sender.TryGetPeerEventFd(target.OwnId, v, out int fd));
                    NativeFds.WriteEventFd(fd);
                    for (int w = 0; w < vectors; w++)
                        Assert.Equal(w == v ? 1UL : 0UL, NativeFds.ReadEventFd(target.OwnEventFd(w)));
                }
    }

    [Fact]
    public void PeerWhoseSocketIsFullGetsTheRestOfItsMessagesWhenItReadsAgain()
    {
        // A peer that does not read: the announcements of 7 newcomers with 64 eventfds each do not fit
        // in its socket, so the daemon must stop in the middle and carry on when it reads again.
        using var server = new RunningServer(TestConfig.Region(size: 16 << 20, vectors: 64, maxPeers: 8));
        HostPeer quiet = server.Connect(track: false);
        var others = Enumerable.Range(0, 7).Select(_ => server.Connect()).ToList();
        Eventually.True(() => server.Log.WithEvent(2003).Any(), "the daemon found the quiet peer's socket full");

        quiet.StartTrackingPeers();

        foreach (HostPeer other in others)
            Assert.True(quiet.WaitForPeer(other.OwnId, Eventually.DefaultTimeout), $"the quiet peer got all 64 eventfds of {other.OwnId}");
        Assert.Equal(3 + 64 + 7 * 64, quiet.Messages.Count);
        Assert.Empty(quiet.Problems);
    }

    [Fact]
    public void PeersThatLeaveBeforeAQuietPeerHeardAllOfThemAreCutShortOrNeverMentioned()
    {
        using var server = new RunningServer(TestConfig.Region(size: 16 << 20, vectors: 64, maxPeers: 8));
        HostPeer quiet = server.Connect(track: false);
        var others = Enumerable.Range(0, 7).Select(_ => server.Connect()).ToList();
        Eventually.True(() => server.Log.WithEvent(2003).Any(), "the daemon found the quiet peer's socket full");
        var leaving = others.Skip(4).ToList();
        foreach (HostPeer p in leaving) p.Dispose();
        server.WaitForPeerCount(5);

        quiet.StartTrackingPeers();

        foreach (HostPeer p in others.Take(4))
            Assert.True(quiet.WaitForPeer(p.OwnId, Eventually.DefaultTimeout));
        foreach (HostPeer p in leaving)
        {
            // Either it was never mentioned, or some of its eventfds came and then its departure: never
            // a departure without an announcement, never eventfds without the departure.
            var about = quiet.Messages.Skip(3 + 64).Where(m => m.Value == p.OwnId).ToList();
            if (about.Count == 0) continue;
            Assert.True(quiet.WaitForDeparture(p.OwnId, Eventually.DefaultTimeout), $"peer {p.OwnId} was announced, so its departure follows");
            about = quiet.Messages.Skip(3 + 64).Where(m => m.Value == p.OwnId).ToList();
            Assert.InRange(about.Count(m => m.HasFd), 1, 64);
            Assert.False(about[^1].HasFd);
            Assert.Single(about, m => !m.HasFd);
        }
        Assert.Empty(quiet.Problems);
    }

    [Fact]
    public void MemoryIsASealedMemfdHoldingAFormattedRegionOfTheConfiguredGeometry()
    {
        using var server = new RunningServer(TestConfig.Region(size: 4 << 20, maxPeers: 3));
        HostPeer peer = server.Connect();

        Assert.StartsWith("/memfd:ivshmemd-r", peer.Messages[2].FdTarget);
        int seals = NativeFds.Seals(peer.MemoryFd);
        Assert.Equal(NativeFds.F_SEAL_SHRINK_ | NativeFds.F_SEAL_GROW_ | NativeFds.F_SEAL_SEAL_, seals & (NativeFds.F_SEAL_SHRINK_ | NativeFds.F_SEAL_GROW_ | NativeFds.F_SEAL_SEAL_));
        Assert.NotEqual(0, NativeFds.TryTruncate(peer.MemoryFd, 4096)); // a peer cannot shrink it under the others

        Region attached = Region.Attach(peer.Memory);
        Assert.Equal(RegionLayout.Compute(4 << 20, 3), attached.Geometry);
        Assert.Equal(server.RegionStatus().FormatId, attached.FormatId);
    }

    [Fact]
    public void PeerTableListsEveryPeerWithItsIdSlotKindAndName()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 4));
        HostPeer first = server.Connect(name: "alpha");
        HostPeer second = server.Connect();

        PeerEntry a = second.FindPeer("alpha");
        Assert.Equal((first.OwnId, PeerKind.HostProcess, PeerState.Present), (a.PeerId, a.Kind, a.State));
        PeerEntry b = first.Region.Peers.FindById(second.OwnId)!.Value;
        Assert.Equal($"host:{TestConfig.CurrentUser}:{Environment.ProcessId}", b.Name);
        Assert.NotEqual(a.Slot, b.Slot);
        Assert.Equal(second.Self, b);
    }

    private static string Describe(ServerMessage m) => m.FdTarget switch
    {
        null => $"{m.Value}",
        "anon_inode:[eventfd]" => $"{m.Value} + eventfd",
        { } t when t.StartsWith("/memfd:", StringComparison.Ordinal) => $"{m.Value} + memfd",
        { } t => $"{m.Value} + {t}",
    };
}
