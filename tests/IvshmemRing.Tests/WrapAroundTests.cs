using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

public class WrapAroundTests
{
    [Fact]
    public void ARecordThatDoesNotFitBeforeTheEndFollowsAPaddingRecordAtIndexZero()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();
        long capacity = region.Capacity;
        SharedMemory data = region.RingAB.Slice(RingLayout.DataOffset, capacity);

        // Fill up to 64 bytes before the end, consuming as we go.
        int chunk = producer.MaxPayload;
        while (capacity - producer.Position % capacity > chunk + 8 + 64)
        {
            Assert.True(producer.TryWrite(new byte[chunk]));
            Assert.True(consumer.TryRead(out _));
            consumer.Release();
        }
        int last = (int)(capacity - producer.Position % capacity - 64 - 8);
        Assert.True(producer.TryWrite(new byte[last]));
        Assert.True(consumer.TryRead(out _));
        consumer.Release();
        Assert.Equal(capacity - 64, producer.Position % capacity);

        byte[] payload = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        Assert.True(producer.TryWrite(payload, 42));
        Assert.Equal(64, data.ReadInt32(capacity - 64));
        Assert.Equal(RecordTypes.Padding, data.ReadInt32(capacity - 64 + 4));
        Assert.Equal(108, data.ReadInt32(0));
        Assert.True(consumer.TryRead(out RingRecord r));
        Assert.Equal(42, r.Type);
        Assert.Equal(payload, r.Payload.ToArray());
    }

    [Fact]
    public void ARecordEndingExactlyAtTheEndNeedsNoPadding()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();
        long capacity = region.Capacity;
        SharedMemory data = region.RingAB.Slice(RingLayout.DataOffset, capacity);
        while (capacity - producer.Position % capacity > producer.MaxPayload + 8)
        {
            Assert.True(producer.TryWrite(new byte[producer.MaxPayload]));
            Assert.True(consumer.TryRead(out _));
            consumer.Release();
        }
        int exact = (int)(capacity - producer.Position % capacity) - 8;
        Assert.True(producer.TryWrite(new byte[exact], 7));
        Assert.Equal(0, producer.Position % capacity);
        Assert.True(producer.TryWrite([5], 8));
        Assert.Equal(9, data.ReadInt32(0));
        Assert.Equal(8, data.ReadInt32(4));
        Assert.True(consumer.TryRead(out RingRecord first));
        Assert.Equal(exact, first.Payload.Length);
        Assert.True(consumer.TryRead(out RingRecord second));
        Assert.Equal(8, second.Type);
        Assert.Equal(producer.Position, consumer.Position);
    }

    [Fact]
    public void PaddingCountsAgainstFreeSpace()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();
        long eighth = region.Capacity / 8;          // a full record: MaxPayload + header
        Assert.Equal(eighth, producer.MaxPayload + 8);

        // Move the tail to eighth - 32 (the session-start record included), all consumed.
        Assert.True(producer.TryWrite(new byte[eighth - 40 - RingLayout.SessionStartRecordSize]));
        Assert.True(consumer.TryRead(out _));
        consumer.Release();
        // Leave 7/8 capacity - 32 unconsumed, ending 64 bytes before the end of the ring.
        for (int i = 0; i < 6; i++) Assert.True(producer.TryWrite(new byte[producer.MaxPayload]));
        Assert.True(producer.TryWrite(new byte[eighth - 40]));
        Assert.Equal(region.Capacity - 64, producer.Position % region.Capacity);

        // Free space is eighth + 32: enough for the record, not for the record plus 64 bytes of padding.
        Assert.False(producer.HasSpaceFor(producer.MaxPayload));
        Assert.False(producer.TryClaim(producer.MaxPayload, out _));
        Assert.True(consumer.TryRead(out _));
        consumer.Release();
        Assert.True(producer.TryClaim(producer.MaxPayload, out _));
    }
}
