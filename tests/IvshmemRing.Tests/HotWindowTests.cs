using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// The hot window (docs/ring.md, "The hot window"): a producer whose consumer keeps up goes back to
/// the ring's start once past the window, with an ordinary padding record; one whose consumer lags
/// keeps the whole ring as its buffer. The padding is in the positions, and the consumer counts it
/// in its control block so that byte counts taken from the head can leave it out.
/// </summary>
public class HotWindowTests
{
    private const int Window = 64 * 1024;
    private const int Record = 8 * 1024 - RingLayout.RecordHeaderSize; // 8 KiB a record with its header

    [Fact]
    public void AProducerWhoseConsumerKeepsUpWrapsOncePastTheWindow()
    {
        using var region = new TestRegion(size: 2 << 20);
        var (producer, consumer) = Open(region, Window);
        long capacity = region.Capacity;
        Assert.True(capacity >= 4 * Window, $"capacity {capacity}");

        var lastIndexes = new List<long>();
        byte[] payload = new byte[Record];
        for (int i = 0; i < 100; i++)
        {
            payload.AsSpan().Fill((byte)i);
            Assert.True(producer.TryWrite(payload, 5));
            lastIndexes.Add(producer.Position % capacity);
            Assert.True(consumer.TryRead(out RingRecord r));
            Assert.Equal((5, (byte)i, Record), (r.Type, r.Payload[^1], r.Payload.Length));
            consumer.Release();
        }

        // Never beyond the window and one record: the ring's far memory is never touched.
        Assert.All(lastIndexes, index => Assert.InRange(index, 0, Window + 2 * (Record + RingLayout.RecordHeaderSize)));
        Assert.True(producer.Position > capacity, $"the positions went round ({producer.Position}) though the indexes stayed low");
        long recordBytes = 100L * (Record + RingLayout.RecordHeaderSize) + RingLayout.SessionStartRecordSize;
        long padding = region.RingAB.ReadInt64(RingLayout.PaddingReleasedOffset);
        Assert.Equal(consumer.Position - recordBytes, padding);
    }

    [Fact]
    public void AProducerWhoseConsumerLagsUsesTheWholeRing()
    {
        using var region = new TestRegion(size: 2 << 20);
        var (producer, consumer) = Open(region, Window);
        long capacity = region.Capacity;

        // Nothing read: the unread records would not fit below the index, so the producer goes on.
        int written = 0;
        while (producer.TryWrite(new byte[Record])) written++;
        Assert.Equal((capacity - RingLayout.SessionStartRecordSize) / (Record + RingLayout.RecordHeaderSize), written);
        Assert.True(producer.Position > Window * 2);

        // Read all; the data is whole and nothing was padding.
        for (int i = 0; i < written; i++)
        {
            Assert.True(consumer.TryRead(out RingRecord r));
            Assert.Equal(Record, r.Payload.Length);
        }
        consumer.Release();
        Assert.False(consumer.TryRead(out _));
        Assert.Equal(0, region.RingAB.ReadInt64(RingLayout.PaddingReleasedOffset));
    }

    [Theory]
    [InlineData(0)]                     // off
    [InlineData(1 << 20)]               // more than half of the ring: ignored
    public void WithoutAUsableWindowTheProducerWrapsOnlyAtTheEnd(long window)
    {
        using var region = new TestRegion(size: 2 << 20);
        var (producer, consumer) = Open(region, window);
        long capacity = region.Capacity;

        long highest = 0;
        for (int i = 0; i < 3 * capacity / (Record + RingLayout.RecordHeaderSize); i++)
        {
            Assert.True(producer.TryWrite(new byte[Record]));
            highest = Math.Max(highest, producer.Position % capacity);
            Assert.True(consumer.TryRead(out _));
            consumer.Release();
        }
        Assert.True(highest > capacity - 2 * (Record + RingLayout.RecordHeaderSize), $"highest index {highest} of {capacity}");
    }

    [Fact]
    public void AReaderThatPausesRightAfterAnEarlyWrapGrowsTheWindowAndOneThatKeepsUpShrinksItBack()
    {
        using var region = new TestRegion(size: 2 << 20);
        var (producer, consumer) = Open(region, Window);
        byte[] payload = new byte[Record];

        // Keep up until the first early wrap (the index drops below the window).
        long index;
        do
        {
            Assert.True(producer.TryWrite(payload));
            index = producer.Position % region.Capacity;
            while (consumer.TryRead(out _)) { }
            consumer.Release();
        }
        while (index > Window / 2);
        // The reader pauses: the writer has only what lies below the reader, and fills it. Filling
        // alone is what a reader that is just slower than its writer causes: no growth for that.
        while (producer.TryWrite(payload)) { }
        Assert.Equal(Window, producer.HotWindowInUse);
        // The writer had to sleep for space: the reader paused, and the window was too small for it.
        producer.SleptForSpace();
        Assert.Equal(2 * Window, producer.HotWindowInUse);
        producer.SleptForSpace(); // once per filled lap
        Assert.Equal(2 * Window, producer.HotWindowInUse);
        Assert.Equal(Window, producer.HotWindow);

        // The reader keeps up again: after enough easy wraps the window is back where it was set.
        while (consumer.TryRead(out _)) { }
        consumer.Release();
        for (int i = 0; i < 2000 && producer.HotWindowInUse != Window; i++)
        {
            Assert.True(producer.TryWrite(payload));
            while (consumer.TryRead(out _)) { }
            consumer.Release();
        }
        Assert.Equal(Window, producer.HotWindowInUse);
    }

    [Fact]
    public async Task AChannelWriterThatSleepsForSpaceAfterAnEarlyWrapGrowsTheWindow()
    {
        using var region = new TestRegion(size: 2 << 20);
        var (producer, consumer) = Open(region, Window);
        var writer = new RingChannel(producer, consumer, PollingWaiter.Instance, options: new RingChannelOptions { WaitMode = WaitMode.Block, Timeout = TimeSpan.FromSeconds(20) });
        byte[] payload = new byte[Record];
        for (long last = 0; ; last = producer.Position % region.Capacity)
        {
            writer.Send(payload);
            while (consumer.TryRead(out _)) { }
            consumer.Release();
            if (producer.Position % region.Capacity < last) break;
        }
        while (producer.TryWrite(payload)) { }
        Assert.Equal(Window, producer.HotWindowInUse);

        // The writer waits for space in block mode, i.e. it sleeps: the reader paused.
        Task waiting = Task.Run(() => writer.WaitForSpace(Record));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (producer.HotWindowInUse == Window && !waiting.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(1);
        Assert.Equal(2 * Window, producer.HotWindowInUse);
        while (consumer.TryRead(out _)) { }
        consumer.Release();
        await waiting;
    }

    [Fact]
    public void AWindowThatKeepsGrowingTurnsEarlyWrapsOff()
    {
        using var region = new TestRegion(size: 2 << 20);
        var (producer, consumer) = Open(region, Window);
        byte[] payload = new byte[Record];
        for (int grown = 0; grown < 6 && producer.HotWindowInUse <= region.Capacity / 2; grown++)
        {
            long before = producer.HotWindowInUse;
            PauseAfterAnEarlyWrap(region, producer, consumer, payload);
            Assert.True(producer.HotWindowInUse > before, $"{producer.HotWindowInUse} after {before}");
        }
        Assert.True(producer.HotWindowInUse > region.Capacity / 2);

        // Off: the producer runs to the ring's end again.
        long highest = 0;
        for (int i = 0; i < region.Capacity / (Record + RingLayout.RecordHeaderSize); i++)
        {
            Assert.True(producer.TryWrite(payload));
            highest = Math.Max(highest, producer.Position % region.Capacity);
            while (consumer.TryRead(out _)) { }
            consumer.Release();
        }
        Assert.True(highest > region.Capacity - 2 * (Record + RingLayout.RecordHeaderSize), $"highest index {highest}");
    }

    /// <summary>A grown window halves after the producer wrote a fixed amount without sleeping for
    /// space (ShrinkAfterWindows windows of the size set), not after a number of wraps: wraps
    /// of a grown window are as long as it is, and the benchmark found 100 MB transfers that never
    /// got back out of a 16 MiB window, their ring's traffic out of the caches the whole time.</summary>
    [Fact]
    public void AGrownWindowShrinksBackAfterAFixedAmountOfEasyWritingWhateverItsSize()
    {
        using var region = new TestRegion(size: 4 << 20);
        Assert.True(8 * Window <= region.Capacity / 2, $"capacity {region.Capacity}: a window of {8 * Window} would be off");
        var (producer, consumer) = Open(region, Window);
        byte[] payload = new byte[Record];
        while (producer.HotWindowInUse < 8 * Window) PauseAfterAnEarlyWrap(region, producer, consumer, payload);
        Assert.Equal(8 * Window, producer.HotWindowInUse);

        long written = 0; // bytes of records, not positions: an early wrap's padding is not writing
        while (producer.HotWindowInUse != Window)
        {
            Assert.True(producer.TryWrite(payload));
            written += Record + RingLayout.RecordHeaderSize;
            while (consumer.TryRead(out _)) { }
            consumer.Release();
            Assert.True(written < 1000L * Window, "the window never shrank back");
        }
        // Three halvings, each after ShrinkAfterWindows windows of 64 KiB written (give or take the
        // lap the count began in and the laps they end in): about 48 windows. Counting wraps instead
        // took 16 wraps of 8, 4 and 2 windows, 224 windows.
        long expected = 3 * RingProducer.ShrinkAfterWindows * Window;
        Assert.InRange(written, expected - 8 * Window, expected + 3 * 8 * Window);
    }

    /// <summary>The reader keeps up until an early wrap, then pauses until the ring is full and the
    /// writer sleeps for space (which grows the window), then reads everything.</summary>
    private static void PauseAfterAnEarlyWrap(TestRegion region, RingProducer producer, RingConsumer consumer, byte[] payload)
    {
        for (long last = 0; ; last = producer.Position % region.Capacity)
        {
            Assert.True(producer.TryWrite(payload));
            while (consumer.TryRead(out _)) { }
            consumer.Release();
            if (producer.Position % region.Capacity < last) break;
        }
        while (producer.TryWrite(payload)) { }
        producer.SleptForSpace();
        while (consumer.TryRead(out _)) { }
        consumer.Release();
    }

    private static (RingProducer Producer, RingConsumer Consumer) Open(TestRegion region, long window)
    {
        RingProducer producer = region.ProducerAB();
        producer.HotWindow = window;
        return (producer, region.ConsumerAB());
    }

    [Fact]
    public void ANegativeWindowIsRefused()
    {
        using var region = new TestRegion();
        Assert.Throws<ArgumentOutOfRangeException>(() => region.ProducerAB().HotWindow = -1);
    }
}
