using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Protocol;

/// <summary>
/// The handshake as QEMU 7.2 expects it (protocol doc 1.3), checked message by message and fd by fd
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
