using System.Net.Sockets;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Protocol;

/// <summary>Peers leaving: announced to the others as the bare id, the peer table updated, the
/// control vector rung; a client that breaks the one-way rule is dropped and nobody else suffers.</summary>
public sealed class DepartureTests
{
    [Fact]
    public void KilledPeerIsAnnouncedAsItsBareIdAndLeavesThePeerTableAndTheOthersAreRung()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 4));
        HostPeer observer = server.Connect();
        using var child = ChildPeer.Join(server.SocketOf(), name: "doomed", diagnostics: () => server.Log.ToString());
        Assert.True(observer.WaitForPeer(child.Id, Eventually.DefaultTimeout));
        Assert.True(observer.Region.Peers.Read(child.Slot).IsPresent);
        NativeFds.ReadEventFd(observer.OwnEventFd(0)); // the join rang it; start quiet
        int before = observer.Messages.Count;

        child.Kill();

        Assert.True(observer.WaitForDeparture(child.Id, Eventually.DefaultTimeout), "observer heard of the departure");
        ServerMessage announcement = observer.Messages[before];
        Assert.Equal((long)child.Id, announcement.Value);
        Assert.False(announcement.HasFd);
        Assert.Equal(before + 1, observer.Messages.Count);
        // The bare id goes out first, then the peer table changes, then vector 0 rings (docs/protocol.md,
        // "The peer table and the control vector").
        Eventually.True(() => observer.Region.Peers.Read(child.Slot).State == PeerState.Gone, "the peer table shows it gone");
        Eventually.True(() => NativeFds.ReadEventFd(observer.OwnEventFd(0)) > 0, "the observer's control vector was rung");
        Assert.Equal(0UL, NativeFds.ReadEventFd(observer.OwnEventFd(1))); // only the control vector
        server.WaitForPeerCount(1); // the status is published last
        Assert.Equal([observer.OwnId], server.RegionStatus().Peers.Select(p => p.Id));
        Eventually.True(() => server.Log.WithEvent(2001).Any(), "the departure was logged");
        Assert.Contains("doomed", Assert.Single(server.Log.WithEvent(2001)).Message);
    }

    [Fact]
    public void JoiningRingsTheControlVectorOfThoseAlreadyThereAfterThePeerTableShowsTheNewcomer()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 4));
        HostPeer first = server.Connect();
        NativeFds.ReadEventFd(first.OwnEventFd(0));

        HostPeer second = server.Connect();

        Eventually.True(() => NativeFds.ReadEventFd(first.OwnEventFd(0)) > 0, "the first peer's control vector was rung");
        Assert.True(first.Region.Peers.FindById(second.OwnId)?.IsPresent);
    }

    [Fact]
    public void ClientThatSendsBytesIsDroppedAndTheDaemonKeepsServing()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 4));
        HostPeer observer = server.Connect();
        using var rogue = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        rogue.Connect(new UnixDomainSocketEndPoint(server.SocketOf()));
        server.WaitForPeerCount(2);
        int rogueId = server.RegionStatus().Peers.Single(p => p.Id != observer.OwnId).Id;
        Assert.True(observer.WaitForPeer(rogueId, Eventually.DefaultTimeout));

        rogue.Send("hello"u8);

        Assert.True(observer.WaitForDeparture(rogueId, Eventually.DefaultTimeout), "the others were told the rogue left");
        Eventually.True(() => server.Log.WithEvent(2002).Any(), "the drop was logged");
        LogEntry dropped = Assert.Single(server.Log.WithEvent(2002));
        Assert.Contains("sent data", dropped.Message);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, dropped.Level);
        HostPeer next = server.Connect();
        Assert.Equal(rogueId + 1, next.OwnId);
        Assert.Empty(observer.Problems);
    }
}
