using System.Text.Json;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Metrics;

/// <summary>What status and the metrics file show of the rings: the byte counter after a real
/// transfer, and a ring a peer scribbled on.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RingMetricsTests
{
    private const long OneGiB = 1L << 30;
    private const int Chunk = 256 * 1024;
    private const int StreamRecord = 64 * 1024;   // RingStream's largest record (docs/ring.md, "Three levels of API")

    [Fact]
    public async Task OneGibThroughARingShowsInStatusAndMetrics()
    {
        using var server = new RunningServer(TestConfig.Region(size: 64 << 20, maxPeers: 2));
        HostPeer a = server.Connect(name: "alpha");
        HostPeer b = server.Connect(name: "beta");
        server.WaitForPeerCount(2);
        RingChannel ab = a.OpenChannel(WaitForPeer(a, "beta"));
        RingChannel ba = b.OpenChannel(WaitForPeer(b, "alpha"));
        // A sample before the transfer, so that the one after it sees the ring move: the periodic
        // sampler may not have come round yet, and a gigabyte can pass within one of its seconds.
        await server.Server.SampleRingsNowAsync();

        Task<long> reader = Task.Run(() =>
        {
            RingStream stream = ba.AsStream();
            byte[] buffer = new byte[Chunk];
            long received = 0;
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) received += n;
            return received;
        });
        RingStream writer = ab.AsStream();
        byte[] data = new byte[Chunk];
        new Random(1).NextBytes(data);
        for (long sent = 0; sent < OneGiB; sent += Chunk) writer.Write(data, 0, Chunk);
        writer.CompleteWriting();
        Assert.Equal(OneGiB, await reader.WaitAsync(TimeSpan.FromMinutes(3)));

        RingSnapshot snapshot = await server.Server.SampleRingsNowAsync();
        RingStatus ring = snapshot.RingsOf("r").Single(r => r.From == "alpha" && r.To == "beta");
        long capacity = a.Region.Geometry.RingCapacity;
        // docs/ring.md / RingLayout.cs: a record is an 8-byte header plus its payload, aligned to 8.
        // The session began with its session-start record (8 bytes of payload: the session id); the
        // stream split each 256 KiB write into records of 64 KiB (16384 data records) and ended with
        // an end record carrying the stream's length (8 bytes). The count is of records only: the
        // padding records before each wrap (at the ring's end, and the early wraps that keep the
        // stream in the hot window) are in the positions but not in the bytes.
        long records = OneGiB / StreamRecord + 2;
        long expected = OneGiB + RingLayout.SessionStartPayload + 8 + records * RingLayout.RecordHeaderSize;
        Assert.True(ring.Valid, ring.Problem);
        Assert.Equal(expected, ring.Bytes);
        Assert.Equal(0, ring.Fill);
        // The positions moved further, by the padding.
        Assert.True((long)ring.Head > expected, $"head {ring.Head} for {expected} record bytes in a ring of {capacity}: no padding?");
        Assert.Equal(capacity, ring.Capacity);
        Assert.NotNull(ring.LastMovement);

        // Status: the JSON the control socket sends, and the table printed from it.
        var state = new DaemonState("(test)", null);
        string json = JsonSerializer.Serialize(StatusReport.From(server.Server.Status, state, snapshot, []), StatusJson.Default.StatusReport);
        StatusReport report = JsonSerializer.Deserialize(json, StatusJson.Default.StatusReport)!;
        RingReport shown = Assert.Single(report.Regions[0].Rings!, r => r.From == "alpha");
        Assert.Equal((0, 1, "beta", true, expected, 0L), (shown.FromSlot, shown.ToSlot, shown.To, shown.Valid, shown.Bytes, shown.FillBytes));
        Assert.Contains(report.Regions[0].Rings!, r => r.From == "beta" && r.To == "alpha" && r.Valid);
        string table = StatusTable.Format(report);
        Assert.Matches(@"(?m)^    alpha -> beta  0->1   1\.00 GiB  .*0 B/32\.0 MiB \(0%\) +\d+s$", table);

        // Metrics: the same counter, and promtool accepts the file.
        string metrics = MetricsTextfile.Format(server.Server.Status, snapshot);
        Assert.Contains($"ivshmemd_ring_bytes_total{{region=\"r\",from=\"alpha\",to=\"beta\",from_slot=\"0\",to_slot=\"1\"}} {expected}\n", metrics);
        Assert.Contains("ivshmemd_region_peers{region=\"r\"} 2\n", metrics);
        Assert.Contains($"ivshmemd_ring_capacity_bytes{{region=\"r\",from=\"alpha\",to=\"beta\",from_slot=\"0\",to_slot=\"1\"}} {capacity}\n", metrics);
        (int exit, string output) = Promtool.CheckMetrics(metrics);
        Assert.True(exit == 0, $"promtool check metrics: exit {exit}\n{output}\n---\n{metrics}");
    }

    [Fact]
    public async Task ScribbledRingShowsAsInvalidAndStatusCarriesOn()
    {
        using var server = new RunningServer(TestConfig.Region(size: 1 << 20, maxPeers: 3));
        HostPeer a = server.Connect(name: "alpha");
        server.Connect(name: "beta");
        server.WaitForPeerCount(2);
        RegionGeometry g = a.Region.Geometry;
        // Through the peer's own mapping, as a hostile guest would: the ring 0->1 claims its
        // consumer is ahead of its producer, and the ring 1->0 has more in flight than it holds.
        long ab = g.RingIndex(0, 1), ba = g.RingIndex(1, 0);
        a.Memory.WriteInt64(ab + RingLayout.TailOffset, 64);
        a.Memory.WriteInt64(ab + RingLayout.HeadOffset, 1024);
        a.Memory.WriteInt64(ba + RingLayout.TailOffset, 8 * g.RingCapacity);
        a.Memory.WriteInt64(ba + RingLayout.HeadOffset, 0);

        RingSnapshot snapshot = await server.Server.SampleRingsNowAsync();
        RingStatus[] rings = snapshot.RingsOf("r").ToArray();
        Assert.Equal("invalid: tail < head", rings.Single(r => r.FromSlot == 0 && r.ToSlot == 1).Problem);
        Assert.Equal("invalid: tail - head > capacity", rings.Single(r => r.FromSlot == 1 && r.ToSlot == 0).Problem);
        Assert.All(rings.Where(r => !r.Valid), r => Assert.Equal((0L, 0L), (r.Bytes, r.Fill)));

        StatusReport report = StatusReport.From(server.Server.Status, new DaemonState("(test)", null), snapshot, []);
        string table = StatusTable.Format(report);
        Assert.Matches(@"(?m)^    alpha -> beta  0->1   invalid: tail < head$", table);
        Assert.Matches(@"(?m)^    beta -> alpha  1->0   invalid: tail - head > capacity$", table);
        StatusReport roundTrip = JsonSerializer.Deserialize(JsonSerializer.Serialize(report, StatusJson.Default.StatusReport), StatusJson.Default.StatusReport)!;
        Assert.Contains(roundTrip.Regions[0].Rings!, r => !r.Valid && r.Problem == "invalid: tail < head" && r.Head == 1024 && r.Tail == 64);

        string metrics = MetricsTextfile.Format(server.Server.Status, snapshot);
        Assert.Contains("ivshmemd_ring_valid{region=\"r\",from=\"alpha\",to=\"beta\",from_slot=\"0\",to_slot=\"1\"} 0\n", metrics);
        Assert.DoesNotContain("ivshmemd_ring_bytes_total{region=\"r\",from=\"alpha\",to=\"beta\"", metrics);
        (int exit, string output) = Promtool.CheckMetrics(metrics);
        Assert.True(exit == 0, $"promtool check metrics: exit {exit}\n{output}\n---\n{metrics}");

        // Repaired, the ring counts again from what it now says (and the daemon never wrote to it).
        a.Memory.WriteInt64(ab + RingLayout.HeadOffset, 64);
        RingStatus repaired = (await server.Server.SampleRingsNowAsync()).RingsOf("r").Single(r => r.FromSlot == 0 && r.ToSlot == 1);
        Assert.True(repaired.Valid, repaired.Problem);
        Assert.Equal(64, repaired.Bytes);
    }

    [Theory]
    [InlineData(0UL, 0UL, 0UL, null)]
    [InlineData(8UL, 1024UL, 16UL, null)]                       // the consumer moved between the loads
    [InlineData(16UL, 8UL, 16UL, "invalid: tail < head")]
    [InlineData(8UL, 16UL, 0UL, "invalid: head went back")]
    [InlineData(0UL, 1032UL, 0UL, "invalid: tail - head > capacity")]
    [InlineData(4UL, 8UL, 4UL, "invalid: head not 8-byte aligned")]
    [InlineData(0UL, 12UL, 0UL, "invalid: tail not 8-byte aligned")]
    [InlineData(ulong.MaxValue - 7, ulong.MaxValue - 7, ulong.MaxValue - 7, "invalid: tail beyond 2^63")]
    [InlineData(0UL, ulong.MaxValue - 7, 0UL, "invalid: tail - head > capacity")]
    public void PositionsAreCheckedNeverTrusted(ulong head1, ulong tail, ulong head2, string? problem) =>
        Assert.Equal(problem, RingSampler.Check(head1, tail, head2, capacity: 1024));

    [Theory]
    [InlineData(0UL, 0UL, null)]
    [InlineData(1024UL, 1024UL, null)]                          // all padding so far
    [InlineData(2048UL, 1024UL, null)]                          // loaded after the head: one padding ahead
    [InlineData(4UL, 1024UL, "invalid: padding count not 8-byte aligned")]
    [InlineData(4096UL, 1024UL, "invalid: padding count beyond the head")]
    public void ThePaddingCountIsCheckedNeverTrusted(ulong padding, ulong head, string? problem) =>
        Assert.Equal(problem, RingSampler.CheckPadding(padding, head, capacity: 1024));

    private static PeerEntry WaitForPeer(HostPeer peer, string name)
    {
        long deadline = Environment.TickCount64 + 30_000;
        while (true)
        {
            try { return peer.FindPeer(name); }
            catch (PeerGoneException) when (Environment.TickCount64 < deadline) { Thread.Sleep(20); }
        }
    }
}
