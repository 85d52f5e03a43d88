using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Systemd;

/// <summary>
/// The sd_notify datagrams of the real daemon process, on a notify socket the test owns (the parent
/// is not systemd, so this also proves the notifier is registered without it): READY only after the
/// sockets listen, STATUS on every change, STOPPING and a clean stop on SIGTERM.
/// </summary>
public sealed class NotifyTests
{
    private const int SIGTERM = 15;

    [Fact]
    public void ReadyComesAfterEverySocketListensAndStatusBeforeIt()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a") + ServiceUnderTest.Region("b", maxPeers: 2));

        // When READY=1 arrived, every socket file was there...
        Assert.Equal("a.sock b.sock control.sock", service.Systemd.Datagrams[service.ReadyIndex].Observed);
        // ...and they take connections.
        using (HostPeer a = HostPeer.Connect(service.SocketOf("a")))
        using (HostPeer b = HostPeer.Connect(service.SocketOf("b")))
            Assert.Equal((0, 0), (a.OwnId, b.OwnId));
        Assert.True(File.Exists(service.ControlSocket));

        var upToReady = service.Systemd.Datagrams.Take(service.ReadyIndex + 1).Where(d => d.FdCount == 0).Select(d => d.Text).ToList();
        Assert.Equal(["STATUS=2 regions, 0 peers (a: 0/4; b: 0/2)", "READY=1"], upToReady);
    }

    [Fact]
    public void StatusFollowsPeersAndStoresTheirFdsWhileTheyAreConnected()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a"));
        int start = service.ReadyIndex;

        HostPeer peer = HostPeer.Connect(service.SocketOf("a"), new HostPeerOptions { Name = "one" });
        service.Systemd.WaitForLine("STATUS=1 region, 1 peer (a: 1/4)", start);
        Assert.Equal(["a.memory", "a.ledger", "a.p0.socket", "a.p0.v0", "a.p0.v1"], service.Systemd.StoredNames);

        peer.Dispose();
        int gone = service.Systemd.WaitForLine("STATUS=1 region, 0 peers (a: 0/4)", start);
        Assert.Equal(["a.memory", "a.ledger"], service.Systemd.StoredNames);
        Assert.Contains(service.Systemd.Datagrams.Take(gone), d => d.Text == "FDSTOREREMOVE=1\nFDNAME=a.p0.v1");
    }

    [Fact]
    public void StoredRegionMemoryIsTheSealedMemfdPeersMap()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a", size: "2M"));
        Datagram stored = service.Systemd.Datagrams.Single(d => d.Text == "FDSTORE=1\nFDNAME=a.memory");
        Assert.Equal(1, stored.FdCount);
        int fd = service.Systemd.StoredFd("a.memory");
        Assert.Equal(2L << 20, NativeFds.FileSize(fd));
        Assert.Equal(NativeFds.F_SEAL_SHRINK_ | NativeFds.F_SEAL_GROW_, NativeFds.Seals(fd) & (NativeFds.F_SEAL_SHRINK_ | NativeFds.F_SEAL_GROW_));

        using HostPeer peer = HostPeer.Connect(service.SocketOf("a"));
        peer.Memory.WriteInt64(4096, 0x5EED);
        Assert.Equal(0x5EED, ReadThroughStoredFd(fd, 4096));
    }

    [Fact]
    public void SigtermSendsStoppingClosesConnectionsRemovesSocketsAndPeersKeepTheirMemoryAndDoorbells()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a"));
        using HostPeer first = HostPeer.Connect(service.SocketOf("a"));
        using HostPeer second = HostPeer.Connect(service.SocketOf("a"));
        Assert.True(first.WaitForPeer(second.OwnId, Eventually.DefaultTimeout));

        service.Process.Signal(SIGTERM);

        Assert.Equal(0, service.Process.WaitForExit());
        service.Systemd.WaitForLine("STOPPING=1", service.ReadyIndex);
        Assert.False(File.Exists(service.SocketOf("a")));
        Assert.False(File.Exists(service.ControlSocket));
        // Their connections wait in the fd store (a restart would resume them); a stop releases it.
        Assert.True(first.IsServerConnected);
        service.Systemd.ReleaseStore();
        Assert.True(first.WaitForServerGone(Eventually.DefaultTimeout));
        Assert.Empty(first.Problems); // no departures: nobody left anybody

        // The data plane does not depend on the daemon: memory and eventfds still connect the two.
        first.Memory.WriteInt64(8192, 42);
        Assert.Equal(42, second.Memory.ReadInt64(8192));
        NativeFds.ReadEventFd(second.OwnEventFd(1));
        first.Doorbell(second.OwnId, 1).Ring();
        Assert.Equal(1UL, NativeFds.ReadEventFd(second.OwnEventFd(1)));
    }

    [Fact]
    public void WatchdogPingsWhenWatchdogUsecIsSet()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a"), new Dictionary<string, string> { ["WATCHDOG_USEC"] = "200000" });

        int first = service.Systemd.WaitForLine("WATCHDOG=1", service.ReadyIndex);
        service.Systemd.WaitForLine("WATCHDOG=1", first + 1);
        Assert.Contains("every 100 ms", service.Process.Log);
    }

    private static unsafe long ReadThroughStoredFd(int fd, long offset)
    {
        using var mapping = Ivshmem.Ring.MappedMemory.MapFile(fd);
        return mapping.Memory.ReadInt64(offset);
    }
}
