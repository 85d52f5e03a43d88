using System.Net.Sockets;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Faults;

/// <summary>
/// Fault: the daemon SIGKILLed while a client is in the middle of its handshake (it has read the
/// version and its id, not the memory). Started again without the fd store (the store released, as
/// systemd does when the unit stops for good), the new instance replaces the socket files the dead
/// one left (event 1008) and, from the next-peer-id file in its state directory, never hands out an
/// id given out before, not even the half-handshaken client's. Started again from the fd store (as
/// systemd does on Restart=), it resumes every connection, the half-handshaken one included: that
/// client reads the rest of its handshake exactly once, in order, and is a peer like the others.
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

    [Fact]
    public void KilledMidHandshakeAndRestartedFromTheFdStoreTheHalfHandshakenClientGetsTheRestExactlyOnce()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("r", maxPeers: 4));
        string socket = service.SocketOf("r");
        using HostPeer first = HostPeer.Connect(socket);
        using var half = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        half.Connect(new UnixDomainSocketEndPoint(socket));
        var reader = new ProtocolReader((int)half.Handle);
        Assert.Equal(0, Next(reader).Value);
        long halfId = Next(reader).Value; // and not the memory message that follows
        Assert.True(first.WaitForPeer((int)halfId, Eventually.DefaultTimeout));
        FaultDaemon.WaitForPeerCount(service, 2);

        service.Process.Signal(SIGKILL);
        Assert.Equal(128 + SIGKILL, service.Process.WaitForExit());
        service.StartProcess();
        Assert.Contains("2 peers of the previous instance resumed (0 orphaned), 0 had left", service.Process.Log);

        // The rest of the handshake (docs/protocol.md, "The handshake, in order"): the memory, the
        // resident's two eventfds, then its own two; nothing twice, nothing missing.
        var rest = new List<long>();
        while (reader.Read(2_000, -1, out ProtocolReader.Frame frame) == ProtocolReader.Status.Message)
        {
            Assert.True(frame.Fd >= 0, $"message {frame.Value} came with its fd");
            Tmds.Linux.LibC.close(frame.Fd);
            rest.Add(frame.Value);
        }
        Assert.Equal([-1, first.OwnId, first.OwnId, halfId, halfId], rest);

        // It is a peer like the others: its leaving is announced, and the ids go on.
        half.Close();
        Assert.True(first.WaitForDeparture((int)halfId, Eventually.DefaultTimeout), "the resident hears that the resumed half client left");
        using (HostPeer later = HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false }))
            Assert.True(later.OwnId > halfId, $"id {later.OwnId} was never handed out before");
        Assert.Empty(first.Problems);
        Assert.True(first.IsServerConnected);
    }

    private static ProtocolReader.Frame Next(ProtocolReader reader)
    {
        Assert.Equal(ProtocolReader.Status.Message, reader.Read(20_000, -1, out ProtocolReader.Frame frame));
        Assert.Equal(-1, frame.Fd);
        return frame;
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
