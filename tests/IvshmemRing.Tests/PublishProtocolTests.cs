using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>The memory protocol is the spec: what is in shared memory after each step.</summary>
public class PublishProtocolTests
{
    [Fact]
    public void CommittedRecordsStayInvisibleUntilPublishThenAppearWithOneTailStore()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();

        for (int i = 0; i < 5; i++)
        {
            Assert.True(producer.TryClaim(10, out Span<byte> span));
            span.Fill((byte)i);
            producer.Commit(RecordTypes.FirstApplicationType + i);
        }
        // Only the session-start record the producer published when it opened.
        Assert.Equal(RingLayout.SessionStartRecordSize, region.RingAB.ReadInt64(RingLayout.TailOffset));
        Assert.False(consumer.TryRead(out _));

        producer.Publish();
        Assert.Equal(RingLayout.SessionStartRecordSize + 5 * 24, region.RingAB.ReadInt64(RingLayout.TailOffset)); // 8 header + 10 payload -> 24 aligned
        for (int i = 0; i < 5; i++)
        {
            Assert.True(consumer.TryRead(out RingRecord r));
            Assert.Equal(RecordTypes.FirstApplicationType + i, r.Type);
            Assert.Equal(Enumerable.Repeat((byte)i, 10).ToArray(), r.Payload.ToArray());
        }
        Assert.False(consumer.TryRead(out _));
    }

    [Fact]
    public void RecordHeaderHoldsLengthAndTypeLittleEndianAtAnEightByteBoundary()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        Assert.True(producer.TryWrite([1, 2, 3], type: 77));
        Assert.True(producer.TryWrite([4], type: 78));
        SharedMemory data = region.RingAB.Slice(RingLayout.DataOffset, region.Capacity);
        // The session opens with its session-start record: length 16, type -2, the session id.
        Assert.Equal(16, data.ReadInt32(0));
        Assert.Equal(-2, data.ReadInt32(4));
        Assert.Equal((long)producer.Session, data.ReadInt64(8));
        Assert.Equal(11, data.ReadInt32(16));
        Assert.Equal(77, data.ReadInt32(20));
        Assert.Equal(new byte[] { 1, 2, 3 }, data.Span(24, 3).ToArray());
        Assert.Equal(9, data.ReadInt32(32));
        Assert.Equal(78, data.ReadInt32(36));
    }

    [Fact]
    public void ReleaseFreesSpaceOnlyWhenCalledAndOnlyUpToWhatWasRead()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();
        Assert.True(producer.TryWrite(new byte[100]));
        Assert.True(producer.TryWrite(new byte[100]));
        Assert.True(consumer.TryRead(out _));
        Assert.Equal(RingLayout.SessionStartRecordSize, region.RingAB.ReadInt64(RingLayout.HeadOffset)); // joining consumed the start record
        consumer.Release();
        Assert.Equal(RingLayout.SessionStartRecordSize + 112, region.RingAB.ReadInt64(RingLayout.HeadOffset));
    }

    [Fact]
    public void AFullRingIsAFalseReturnNotAnException()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        byte[] chunk = new byte[producer.MaxPayload];
        int written = 0;
        while (producer.TryWrite(chunk)) written++;
        Assert.InRange(written, 7, 8);
        Assert.False(producer.TryClaim(chunk.Length, out _));
        Assert.False(producer.HasSpaceFor(chunk.Length));
    }

    [Fact]
    public void RecordsLargerThanMaxPayloadAreRefusedWithTheLimit()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => producer.TryClaim(producer.MaxPayload + 1, out _));
        Assert.Contains($"maximum of {producer.MaxPayload}", e.Message);
    }

    [Fact]
    public void CommitShorterThanTheClaimKeepsOnlyThoseBytesAndAbortKeepsNothing()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();
        Assert.True(producer.TryClaim(1000, out Span<byte> span));
        span[..3].Fill(9);
        producer.Commit(3, 5);
        Assert.True(producer.TryClaim(50, out _));
        producer.Abort();
        producer.Publish();
        Assert.True(consumer.TryRead(out RingRecord r));
        Assert.Equal(new byte[] { 9, 9, 9 }, r.Payload.ToArray());
        Assert.False(consumer.TryRead(out _));
        Assert.Equal(RingLayout.SessionStartRecordSize + 16, producer.Position);
    }

    [Fact]
    public void MisuseThrowsClearly()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        Assert.Throws<InvalidOperationException>(() => producer.Commit(0));
        Assert.True(producer.TryClaim(8, out _));
        Assert.Throws<InvalidOperationException>(() => producer.TryClaim(8, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => producer.Commit(9, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => producer.Commit(8, RecordTypes.Padding));
        Assert.Throws<ArgumentOutOfRangeException>(() => producer.Commit(8, RecordTypes.SessionStart));
    }

    [Fact]
    public void DoorbellRingsOnlyWhenTheOtherSideAnnouncedSleep()
    {
        using var region = new TestRegion();
        var toConsumer = new CountingSignal();
        var toProducer = new CountingSignal();
        RingProducer producer = region.ProducerAB(toConsumer);
        RingConsumer consumer = region.ConsumerAB(toProducer);

        for (int i = 0; i < 100; i++) Assert.True(producer.TryWrite([1]));
        Assert.Equal(0, toConsumer.Count);
        consumer.SetWaiting(true);
        Assert.True(producer.TryWrite([1]));
        Assert.True(producer.TryWrite([1]));
        Assert.Equal(2, toConsumer.Count);
        consumer.SetWaiting(false);

        while (consumer.TryRead(out _)) { }
        consumer.Release();
        Assert.Equal(0, toProducer.Count);
        Assert.True(producer.TryWrite([1]));
        producer.SetWaiting(true);
        Assert.True(consumer.TryRead(out _));
        consumer.Release();
        Assert.Equal(1, toProducer.Count);
    }

    [Fact]
    public void CopyingReadRefusesASmallDestinationWithoutConsuming()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();
        Assert.True(producer.TryWrite(new byte[40], 3));
        Assert.Throws<ArgumentException>(() => consumer.TryRead(new byte[39], out _, out _));
        Assert.True(consumer.TryRead(new byte[40], out int length, out int type));
        Assert.Equal((40, 3), (length, type));
    }
}
