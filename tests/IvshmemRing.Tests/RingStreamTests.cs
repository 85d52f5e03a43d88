using Ivshmem.Ring;
using Ivshmem.TestPeer;

namespace Ivshmem.Ring.Tests;

public class RingStreamTests
{
    private static readonly RingChannelOptions Options = new() { Timeout = TimeSpan.FromSeconds(20) };

    /// <summary>Two channels facing each other in one process, with real eventfd doorbells.</summary>
    private static (RingChannel A, RingChannel B, IDisposable Cleanup) Pair(CrossProcessRegion region)
    {
        var waiterB = new EventFdWaiter([region.EventB]);
        RingChannel a = region.OpenChannel(Options);
        RingChannel b = RingChannel.Open(region.Region, 1, 0, new EventFdSignal(region.EventA), waiterB, Options);
        return (a, b, waiterB);
    }

    /// <summary>A long read gives records back as it goes, not only when it returns: a writer that
    /// waits for space (its waiting flag set) is rung once per 64 KiB released during one read.</summary>
    [Fact]
    public void ALongReadReleasesAsItGoesAndRingsAWaitingWriterEachTime()
    {
        using var region = new TestRegion(size: 4 << 20);
        var doorbell = new CountingSignal();
        RingProducer producer = region.ProducerAB();
        var channel = new RingChannel(producer, region.ConsumerAB(doorbell), PollingWaiter.Instance);
        // Eight stream records of 64 KiB, as a RingStream writer leaves them.
        for (int i = 0; i < 8; i++)
        {
            Assert.True(producer.TryClaim(RingStream.RecordBytes, out Span<byte> payload));
            payload.Fill((byte)i);
            producer.Commit(RecordTypes.StreamData);
        }
        producer.Publish();
        producer.SetWaiting(true);

        byte[] buffer = new byte[8 * RingStream.RecordBytes];
        Assert.Equal(buffer.Length, channel.AsStream().Read(buffer));

        // One ring as the reader joined the session (docs/ring.md, "Sessions"), then one per record;
        // a read that released only at its end would have rung twice in all.
        Assert.Equal(1 + 8, doorbell.Count);
        Assert.Equal(buffer.Length - 1, Array.LastIndexOf(buffer, (byte)7));
    }

    /// <summary>A read into a buffer of StreamingCopy.ReadThreshold or more copies with non-temporal
    /// stores: through a ring much smaller than the buffer, at an offset that is not line-aligned,
    /// it still gets exactly the bytes written, in order.</summary>
    [Fact]
    public async Task AReadIntoALargeBufferGetsExactlyTheBytesWritten()
    {
        using var region = new CrossProcessRegion(1L << 20);
        var (a, b, cleanup) = Pair(region);
        using var _ = cleanup;
        byte[] sent = new byte[2 * StreamingCopy.ReadThreshold + 12345];
        new Random(7).NextBytes(sent);
        var writer = Task.Run(() =>
        {
            using Stream s = a.AsStream();
            for (int at = 0; at < sent.Length; at += 100_000) s.Write(sent.AsSpan(at, Math.Min(100_000, sent.Length - at)));
        });
        byte[] received = new byte[sent.Length + 3];
        Stream reader = b.AsStream();
        int got = 0, reads = 0, streamed = 0;
        while (got < sent.Length)
        {
            Span<byte> into = received.AsSpan(3 + got);
            int n = reader.Read(into);
            if (into.Length >= StreamingCopy.ReadThreshold) streamed += n;
            Assert.True(n > 0, $"end of stream after {got} of {sent.Length} bytes");
            got += n;
            reads++;
        }
        await writer;
        Assert.Equal(0, reader.Read(new byte[1]));
        Assert.True(sent.AsSpan().SequenceEqual(received.AsSpan(3)), $"the bytes differ after {reads} reads");
        // Every byte up to the last ReadThreshold came in reads into at least that much room.
        Assert.True(streamed >= sent.Length - StreamingCopy.ReadThreshold, $"{streamed} bytes came through reads into {StreamingCopy.ReadThreshold} bytes or more");
    }

    [Fact]
    public async Task ReadsSmallerThanARecordStillGiveSpaceBackToTheWriter()
    {
        using var region = new CrossProcessRegion(1L << 20);
        var (a, b, cleanup) = Pair(region);
        using var _ = cleanup;
        long total = a.Producer.Capacity * 6;
        var writer = Task.Run(() =>
        {
            using Stream s = a.AsStream();
            byte[] record = new byte[a.MaxPayload];
            for (long sent = 0; sent < total; sent += record.Length) s.Write(record);
        });
        Stream reader = b.AsStream();
        byte[] small = new byte[100];
        long received = 0;
        int n;
        while ((n = reader.Read(small)) > 0) received += n;
        await writer;
        Assert.Equal((total + a.MaxPayload - 1) / a.MaxPayload * a.MaxPayload, received);
    }

    [Fact]
    public async Task AsyncReadsAndWritesCarryTheSameBytesAsTheSyncOnes()
    {
        using var region = new CrossProcessRegion(1L << 20);
        var (a, b, cleanup) = Pair(region);
        using var _ = cleanup;
        byte[] data = new byte[5_000_000];
        new StreamData(9).Fill(data);
        var writer = Task.Run(async () =>
        {
            await using Stream s = a.AsStream();
            for (int off = 0; off < data.Length; off += 70_001)
                await s.WriteAsync(data.AsMemory(off, Math.Min(70_001, data.Length - off)));
        });
        var received = new MemoryStream();
        await b.AsStream().CopyToAsync(received);
        await writer;
        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public void DisposingTheWriterEndsTheStreamAfterTheDataAndLaterReadsReturnZero()
    {
        using var region = new CrossProcessRegion(1L << 20);
        var (a, b, cleanup) = Pair(region);
        using var _ = cleanup;
        using (Stream s = a.AsStream()) s.Write([1, 2, 3]);
        Stream r = b.AsStream();
        byte[] buffer = new byte[10];
        Assert.Equal(3, r.Read(buffer));
        Assert.Equal(0, r.Read(buffer));
        Assert.Equal(0, r.Read(buffer));
    }

    [Fact]
    public void AForeignRecordTypeOnAStreamIsReportedWithTheType()
    {
        using var region = new CrossProcessRegion(1L << 20);
        var (a, b, cleanup) = Pair(region);
        using var _ = cleanup;
        a.Send([1], type: 99);
        var e = Assert.Throws<RingCorruptedException>(() => b.AsStream().Read(new byte[4]));
        Assert.Contains("type 99", e.Message);
    }

    [Fact]
    public void ALongWriteBecomesRecordsOfAtMost64KiBSoTheReaderCanStartOnTheFirst()
    {
        using var region = new CrossProcessRegion(8L << 20);
        var (a, b, cleanup) = Pair(region);
        using var _ = cleanup;
        Assert.True(a.MaxPayload > 256 * 1024, $"the ring's record limit ({a.MaxPayload}) must not be what splits the write");
        byte[] data = new byte[256 * 1024 + 100];
        new StreamData(3).Fill(data);
        a.AsStream().Write(data);
        var lengths = new List<int>();
        var received = new List<byte>();
        while (b.Consumer.TryRead(out RingRecord record))
        {
            Assert.Equal(RecordTypes.StreamData, record.Type);
            lengths.Add(record.Payload.Length);
            received.AddRange(record.Payload.ToArray());
        }
        Assert.Equal([65536, 65536, 65536, 65536, 100], lengths);
        Assert.Equal(data, received.ToArray());
    }
}
