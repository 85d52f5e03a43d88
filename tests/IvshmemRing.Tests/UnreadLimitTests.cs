using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary><see cref="RingProducer.UnreadLimit"/>: how much the producer lets wait unread.</summary>
public class UnreadLimitTests
{
    [Fact]
    public void NoNewRecordIsClaimedWhileTheLimitIsUnreadAndOneIsAsSoonAsTheConsumerReleases()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();
        long before = producer.Position;    // after the session-start record the producer wrote at open
        long limit = region.Capacity / 4;
        producer.UnreadLimit = limit;

        int written = 0;
        while (producer.TryWrite(new byte[1000])) written++;

        // 1,008 bytes per record (header and alignment included): records are claimed while less than
        // the limit is unread, so the last one starts below it. A quarter of the ring: the limit, not
        // the capacity, is what stopped it.
        Assert.InRange(producer.Position - before, limit, limit + 1008);
        Assert.False(producer.HasSpaceFor(1));

        Assert.True(consumer.TryRead(out _));
        consumer.Release();
        Assert.True(producer.HasSpaceFor(1000));
        Assert.True(producer.TryWrite(new byte[1000]));

        int read = 0;
        while (consumer.TryRead(out RingRecord r))
        {
            Assert.Equal(1000, r.Payload.Length);
            consumer.Release();
            read++;
        }
        Assert.Equal(written, read);   // the first one was read above, the extra one now: nothing lost
    }

    [Fact]
    public void WithoutALimitTheRingFillsToItsCapacity()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        while (producer.TryWrite(new byte[1000])) { }
        Assert.True(producer.Position > region.Capacity - 2 * 1008);
    }
}
