using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Systemd;

/// <summary>
/// The daemon killed (SIGKILL: nothing cleaned up) and started again with what it left in the fd
/// store, as systemd does on Restart=: the same memory (not re-formatted), the same id sequence, and
/// the previous instance's connections resumed, so peers that were there learn about newcomers and
/// departures as if nothing had happened.
/// </summary>
public sealed class RestartTests
{
    private const int SIGKILL = 9;

    [Fact]
    public void KilledDaemonRestartedFromTheFdStoreKeepsMemoryAndIdsAndResumesItsPeers()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a"));
        using HostPeer first = HostPeer.Connect(service.SocketOf("a"), new HostPeerOptions { Name = "first", RecordMessages = true });
        using HostPeer second = HostPeer.Connect(service.SocketOf("a"), new HostPeerOptions { Name = "second", RecordMessages = true });
        Assert.True(first.WaitForPeer(second.OwnId, Eventually.DefaultTimeout));
        long marker = first.Memory.Length - 64;
        first.Memory.WriteInt64(marker, 0x1F5EED);

        service.Process.Signal(SIGKILL);
        Assert.Equal(128 + SIGKILL, service.Process.WaitForExit());
        Assert.True(first.IsServerConnected); // the store holds the connections: no end of file

        service.StartProcess();

        Assert.Contains("2 peers of the previous instance resumed (0 orphaned), 0 had left", service.Process.Log);
        using HostPeer third = HostPeer.Connect(service.SocketOf("a"), new HostPeerOptions { Name = "third", RecordMessages = true });
        Assert.Equal(second.OwnId + 1, third.OwnId);
        Assert.Equal(first.Region.FormatId, third.Region.FormatId);
        Assert.Equal(0x1F5EED, third.Memory.ReadInt64(marker));
        Assert.Equal([first.OwnId, second.OwnId], third.PeerIds);
        Assert.Equal(PeerState.Present, third.FindPeer("first").State);

        // The resumed connections carry on: both old peers hear of the newcomer...
        Assert.True(first.WaitForPeer(third.OwnId, Eventually.DefaultTimeout), "first heard of third through its resumed connection");
        Assert.True(second.WaitForPeer(third.OwnId, Eventually.DefaultTimeout));
        // ...and of a departure, which the new daemon notices on a connection it did not accept.
        first.Dispose();
        Assert.True(second.WaitForDeparture(first.OwnId, Eventually.DefaultTimeout));
        Assert.True(third.WaitForDeparture(first.OwnId, Eventually.DefaultTimeout));
        Assert.Empty(second.Problems);
        Assert.Empty(third.Problems);
        // second's messages: its handshake, first's... no duplicate, no gap across the restart.
        Assert.Equal(3 + 2 + 2 + 2 + 1, second.Messages.Count);
    }

    [Fact]
    public void PeerThatLeftWhileTheDaemonWasDownIsAnnouncedAfterTheRestart()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a"));
        HostPeer leaving = HostPeer.Connect(service.SocketOf("a"), new HostPeerOptions { Name = "leaving" });
        using HostPeer staying = HostPeer.Connect(service.SocketOf("a"), new HostPeerOptions { Name = "staying" });
        Assert.True(leaving.WaitForPeer(staying.OwnId, Eventually.DefaultTimeout));
        int slot = leaving.Self.Slot;
        service.Process.Signal(SIGKILL);
        service.Process.WaitForExit();

        leaving.Dispose(); // while nobody serves the region; systemd drops its hung-up connection from the store
        service.StartProcess();

        Assert.True(staying.WaitForDeparture(leaving.OwnId, Eventually.DefaultTimeout), "the restarted daemon told the others");
        Eventually.True(() => staying.Region.Peers.Read(slot).State == PeerState.Gone, "the peer table shows it gone");
        // Usually systemd has already dropped its hung-up connection ("1 had left" at restore); if a
        // copy of it was still open somewhere for a moment, the new daemon restores it and sees the end
        // of file itself. Either way the others are told and the store forgets it.
        Assert.Matches("1 peer of the previous instance resumed \\(0 orphaned\\), 1 had left|2 peers of the previous instance resumed", service.Process.Log);
        Eventually.True(() => !service.Systemd.StoredNames.Any(n => n.StartsWith($"a.p{leaving.OwnId}.", StringComparison.Ordinal)), "the fd store forgot the peer that left");
    }

    [Fact]
    public void RestartWithAChangedRegionSizeStartsThatRegionAfreshAndDropsTheStoredMemory()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a", size: "1M"));
        using HostPeer old = HostPeer.Connect(service.SocketOf("a"));
        service.Process.Signal(SIGKILL);
        service.Process.WaitForExit();
        File.WriteAllText(service.ConfigPath, ServiceUnderTest.Yaml(dir, ServiceUnderTest.Region("a", size: "2M")));

        service.StartProcess();

        using HostPeer fresh = HostPeer.Connect(service.SocketOf("a"));
        Assert.Equal(2L << 20, fresh.Memory.Length);
        Assert.NotEqual(old.Region.FormatId, fresh.Region.FormatId);
        Assert.True(fresh.OwnId > old.OwnId, $"id {fresh.OwnId} after {old.OwnId}: ids go on in the new memory (docs/protocol.md, \"Peer ids\")");
        Assert.Contains("the stored memory was not used", service.Process.Log);
    }
}
