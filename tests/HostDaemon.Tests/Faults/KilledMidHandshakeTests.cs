using System.Net.Sockets;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Faults;

/// <summary>
/// Fault: the daemon SIGKILLed while a client is in the middle of its handshake (it has read the
/// version and its id, not the memory), and started again without the fd store (the store released,
/// as systemd does when the unit stops for good). The new instance replaces the socket files the dead
/// one left (event 1008) and, from the next-peer-id file in its state directory, never hands out an
/// id given out before, not even the half-handshaken client's.
/// </summary>
public sealed class KilledMidHandshakeTests
{
    private const int SIGKILL = 9;

    [Fact]
    public void KilledMidHandshakeAndRestartedWithoutTheFdStoreItReplacesTheStaleSocketsAndNeverReusesAnId()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("r", maxPeers: 4));
        string socket = service.SocketOf("r");
        HostPeer first = HostPeer.Connect(socket);
        HostPeer second = HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false });
        Assert.True(first.WaitForPeer(second.OwnId, Eventually.DefaultTimeout));

        using var half = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 20_000 };
        half.Connect(new UnixDomainSocketEndPoint(socket));
        long version = ReadInt64(half), halfId = ReadInt64(half); // and not the memory message that follows
        Assert.Equal(0, version);
        FaultDaemon.WaitForPeerCount(service, 3);

        service.Process.Signal(SIGKILL);
        Assert.Equal(128 + SIGKILL, service.Process.WaitForExit());
        service.Systemd.ReleaseStore(); // no fd store: the dead instance's connections are gone with it
        Assert.True(first.WaitForServerGone(Eventually.DefaultTimeout), "the peers see the daemon gone");
        first.Dispose();
        second.Dispose();
        Assert.True(File.Exists(socket), "the killed daemon left its socket file");

        service.StartProcess();

        Assert.Contains($"replaced the stale socket file {socket}", service.Process.Log);
        Assert.DoesNotContain("restored from the fd store", service.Process.Log);
        // The half-handshaken client was closed with the dead instance: it reads what was queued, then end of file.
        Assert.True(DrainsToEndOfFile(half), "the half-handshaken client's connection is closed");
        long highest = Math.Max(Math.Max(first.OwnId, second.OwnId), halfId);
        int fdsBefore = NativeFds.CountOpen(service.Process.Pid);
        using (HostPeer observer = HostPeer.Connect(socket))
        {
            var later = new List<int>();
            for (int i = 0; i < 3; i++)
                using (HostPeer p = HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false }))
                {
                    later.Add(p.OwnId);
                    Assert.True(observer.WaitForPeer(p.OwnId, Eventually.DefaultTimeout), "the observer hears of each new peer");
                }
            Assert.All(later.Append(observer.OwnId), id => Assert.True(id > highest, $"id {id} was never handed out before (highest before the kill: {highest})"));
            foreach (int id in later) Assert.True(observer.WaitForDeparture(id, Eventually.DefaultTimeout));
        }
        FaultDaemon.WaitForPeerCount(service, 0);
        FaultDaemon.WaitForFdCount(service, fdsBefore);
    }

    private static long ReadInt64(Socket s)
    {
        byte[] b = new byte[8];
        for (int got = 0; got < 8;)
        {
            int n = s.Receive(b, got, 8 - got, SocketFlags.None);
            if (n == 0) throw new EndOfStreamException("the daemon closed during the handshake");
            got += n;
        }
        return BitConverter.ToInt64(b);
    }

    private static bool DrainsToEndOfFile(Socket s)
    {
        byte[] b = new byte[4096];
        try
        {
            while (true)
                if (s.Receive(b) == 0) return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset) { return true; }
    }
}
