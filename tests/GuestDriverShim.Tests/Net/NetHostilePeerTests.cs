using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Ivshmem.Agent.Net;
using Ivshmem.Agent.Protocol;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>
/// A third peer of the region that is not a real net: the test itself, joined as host peer 'h' with
/// the library, writing net's records by hand into the ring to 'a'. Whatever it announces or sends,
/// 'a' must refuse what is wrong, say why, and go on serving 'b' through the ring.
/// </summary>
[Collection(NetCollection.Name)]
public sealed class NetHostilePeerTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;
    private const ulong Instance = 0x4854494C45; // "HTILE": any non-zero number

    [NetFact]
    public void NonsenseAnnouncementsGetNoRouteAndALoggedReasonWhileTheOtherPeerKeepsTheRing()
    {
        using var rig = new NetRig(output);
        var (pair, daemon, a) = (rig.Pair, rig.Daemon, rig.A);
        using Ivshmem.Peer.Host.HostPeer hostile = Ivshmem.Peer.Host.HostPeer.Connect(daemon.Socket, new HostPeerOptions { Name = "h", Vectors = 2 });
        RingChannel toA = hostile.OpenChannel("a");
        ulong aInstance = Convert.ToUInt64(a.Status().GetProperty("instance").GetString(), 16);

        // Addresses that are not its own: every one refused, each with its reason.
        string[] nonsense = ["10.77.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "127.0.0.1", "10.77.0.255", "10.99.0.1", "fe80::1", "10.77.0.2", "::ffff:10.77.0.2", "ff02::1"];
        toA.Send(NetRecords.EncodeAnnounce(Instance, [.. nonsense.Select(IPAddress.Parse)]), MessageTypes.NetAnnounce);
        Heartbeat(toA, aInstance);
        string line = a.WaitFor("peer 'h'");
        foreach (string expected in new[]
        {
            "10.77.0.1: one of this machine's own addresses", "0.0.0.0: an unspecified address", "224.0.0.1: a multicast address",
            "255.255.255.255: the broadcast address", "127.0.0.1: a loopback address", "10.77.0.255: a broadcast address of a network this machine is on",
            "10.99.0.1: this machine has no route to it", "fe80::1: a link-local address", "10.77.0.2: peer 'b' (id", ") announced it first",
            "::ffff:10.77.0.2: an IPv4-mapped address", "ff02::1: a multicast address",
        })
            Assert.Contains(expected, line);
        NetNamespaceTests.WaitFor(() => a.PeerStatus("h").GetProperty("reason").GetString() == "none of its addresses can be routed to",
            TimeSpan.FromSeconds(5), $"h's state: {a.PeerStatus("h")}");

        // Too many addresses, and malformed announcements: nothing of them is taken.
        toA.Send(TooMany(1000), MessageTypes.NetAnnounce);
        a.WaitFor("it announced 1000 addresses; at most 64 are accepted");
        byte[] good = NetRecords.EncodeAnnounce(Instance, [IPAddress.Parse("10.77.0.9")]);
        byte[] badMagic = [.. good];
        badMagic[0] ^= 0xFF;
        byte[] badVersion = [.. good];
        BinaryPrimitives.WriteUInt16LittleEndian(badVersion.AsSpan(4), 2);
        byte[] badFamily = [.. good];
        badFamily[NetRecords.AnnounceHeaderSize] = 9;
        foreach (var (record, reason) in new[]
        {
            (badMagic, "not 'IVNT'"), (badVersion, "it speaks version 2 of net's records"), (good[..7], "shorter than its 20-byte header"),
            (good[..^1], "must be 40 bytes, not 39"), (badFamily, "has family 9, not 4 or 6"),
        })
        {
            toA.Send(record, MessageTypes.NetAnnounce);
            a.WaitFor(reason);
        }
        Assert.Equal("down", a.PeerStatus("h").GetProperty("state").GetString());

        // A packet in its name from another peer's address: dropped, counted, said once.
        toA.Send(Ipv4Packet(source: pair.B.V4, destination: pair.A.V4), MessageTypes.NetPacket);
        a.WaitFor("peer 'h' (id 2) sent a packet whose source is not one of its accepted addresses");
        Assert.Equal(1, a.PeerStatus("h").GetProperty("dropped").GetProperty("invalid").GetInt64());

        // Through all of it: only b's routes, and b still served through the ring.
        string routes = pair.A.NetRoutes();
        Assert.Equal(2, routes.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("10.77.0.2 dev", routes);
        Assert.Contains("fd77::2 dev", routes);
        long tun = pair.A.Counter(pair.A.Tun, "tx_bytes");
        TransferResult result = TcpTransfer.Run(pair.A, pair.B, pair.B.V4, 32 * MiB);
        Assert.Equal(result.SentHash, result.ReceivedHash);
        Assert.True(pair.A.Counter(pair.A.Tun, "tx_bytes") - tun >= 32 * MiB);
        Assert.False(a.HasExited);
    }

    [NetFact]
    public void APeerThatStopsReadingIsMarkedStalledAndLosesItsRoutesWithoutHoldingUpTheOthers()
    {
        using var rig = new NetRig(output);
        var (pair, daemon, a) = (rig.Pair, rig.Daemon, rig.A);
        using var stop = new CancellationTokenSource();
        Task? heartbeats = null;
        try
        {
            using Ivshmem.Peer.Host.HostPeer hostile = Ivshmem.Peer.Host.HostPeer.Connect(daemon.Socket, new HostPeerOptions { Name = "h", Vectors = 2 });
            RingChannel toA = hostile.OpenChannel("a");
            ulong aInstance = Convert.ToUInt64(a.Status().GetProperty("instance").GetString(), 16);
            // h announces an address nobody has on the veth network (so a can route it), says it is
            // alive every 50 ms, and never reads what a sends it.
            toA.Send(NetRecords.EncodeAnnounce(Instance, [IPAddress.Parse("10.77.0.9")]), MessageTypes.NetAnnounce);
            heartbeats = Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    Heartbeat(toA, aInstance);
                    Thread.Sleep(50);
                }
            });
            a.WaitFor("is up: traffic to 10.77.0.9");

            // Datagrams for h fill its ring; meanwhile a sends to b through the ring.
            Task flood = Task.Run(() =>
            {
                using Socket udp = pair.A.Inside(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
                byte[] datagram = new byte[60000];
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(1.5))
                {
                    try { udp.SendTo(datagram, new IPEndPoint(IPAddress.Parse("10.77.0.9"), 9)); }
                    catch (SocketException) { /* no route for a moment, or no neighbour on the veth: the network's problem now */ }
                }
            });
            var transferClock = Stopwatch.StartNew();
            TransferResult result = TcpTransfer.Run(pair.A, pair.B, pair.B.V4, 64 * MiB);
            output.WriteLine($"64 MiB to b while h's ring was full: {transferClock.ElapsedMilliseconds} ms");
            flood.Wait();
            Assert.Equal(result.SentHash, result.ReceivedHash);
            a.WaitFor("peer 'h' (id 2) is down: stalled: its ring stayed full for 200 ms with nothing read");
            Assert.DoesNotContain("10.77.0.9", pair.A.NetRoutes());
            Assert.Contains("10.77.0.2 dev", pair.A.NetRoutes());
            JsonElement h = a.PeerStatus("h");
            Assert.True(h.GetProperty("stalls").GetInt64() >= 1);
            Assert.Equal("up", a.PeerStatus("b").GetProperty("state").GetString());

            // h reads again: it gets its route back.
            while (toA.Consumer.TryRead(out _)) { }
            toA.Consumer.Release();
            NetNamespaceTests.WaitFor(() => pair.A.NetRoutes().Contains("10.77.0.9"), TimeSpan.FromSeconds(5), "h did not get its route back after reading its ring");
        }
        finally
        {
            stop.Cancel();
            heartbeats?.Wait();
        }
    }

    private static void Heartbeat(RingChannel channel, ulong heard)
    {
        Span<byte> record = stackalloc byte[NetRecords.HeartbeatSize];
        NetRecords.EncodeHeartbeat(record, Instance, heard);
        channel.Producer.TryWrite(record, MessageTypes.NetHeartbeat);
    }

    /// <summary>An announcement that claims <paramref name="count"/> addresses (and carries them).</summary>
    private static byte[] TooMany(int count)
    {
        byte[] record = new byte[NetRecords.AnnounceHeaderSize + count * NetRecords.AddressEntrySize];
        NetRecords.EncodeAnnounce(Instance, []).CopyTo(record, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(16), (ushort)count);
        for (int i = 0; i < count; i++)
        {
            Span<byte> entry = record.AsSpan(NetRecords.AnnounceHeaderSize + i * NetRecords.AddressEntrySize);
            entry[0] = 4;
            BinaryPrimitives.WriteUInt32BigEndian(entry[4..], 0x0A4D0000u + (uint)i);
        }
        return record;
    }

    /// <summary>A virtio header (no offload) and a minimal IPv4/UDP packet.</summary>
    private static byte[] Ipv4Packet(IPAddress source, IPAddress destination)
    {
        byte[] frame = new byte[10 + 28];
        Span<byte> ip = frame.AsSpan(10);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 28);
        ip[8] = 64;
        ip[9] = 17;
        source.TryWriteBytes(ip[12..], out _);
        destination.TryWriteBytes(ip[16..], out _);
        return frame;
    }
}
