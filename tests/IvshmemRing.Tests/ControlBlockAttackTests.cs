using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// A third peer of the region that writes only a ring's control block (positions and sessions, no
/// record) can make the reader fail, but never make it accept records skipped, replayed or written for
/// someone else; and once it stops, the next producer that opens the ring repairs it.
/// </summary>
public sealed class ControlBlockAttackTests
{
    [Fact]
    public void AForgedSessionStartIsAnErrorNotSkippedData()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        for (int i = 0; i < 5; i++) Assert.True(producer.TryWrite(new byte[1000], type: 20));

        // The attacker starts a session of its own at the current tail, addressed to b's epoch: a
        // reader that trusted it would skip the five records above.
        long tail = region.RingAB.ReadInt64(RingLayout.TailOffset);
        region.RingAB.WriteInt64(RingLayout.SessionStartOffset, tail);
        region.RingAB.WriteInt64(RingLayout.ProducerSessionOffset, (long)(((ulong)region.B.Epoch << 32) | 0xBAD));
        Assert.True(producer.TryWrite(new byte[1000], type: 21));

        RingConsumer consumer = region.ConsumerAB();
        var e = Assert.Throws<RingCorruptedException>(() => consumer.TryRead(out _));
        Assert.Contains("does not begin with its session-start record", e.Message);
    }

    [Fact]
    public void ARewoundSessionStartDoesNotReplayAnOldSessionToANewPeer()
    {
        using var region = new TestRegion();
        RingProducer old = region.ProducerAB();
        RingConsumer oldReader = region.ConsumerAB();
        for (int i = 0; i < 5; i++) Assert.True(old.TryWrite([(byte)i], type: 20));
        while (oldReader.TryRead(out _)) { }
        oldReader.Release();

        // b leaves; b2 takes the slot, and a opens a session for it.
        region.Region.Peers.Leave(1);
        PeerEntry b2 = region.Region.Peers.Join(1, 12, PeerKind.HostProcess, "b2");
        var producer = new RingProducer(region.RingAB, RingSession.New(b2.Epoch));
        Assert.True(producer.TryWrite([99], type: 20));

        // The attacker rewinds the new session's start and the head to the old session's records.
        region.RingAB.WriteInt64(RingLayout.SessionStartOffset, 0);
        region.RingAB.WriteInt64(RingLayout.HeadOffset, 0);

        var reader = new RingConsumer(region.RingAB, b2.Epoch);
        var e = Assert.Throws<RingCorruptedException>(() => reader.TryRead(out _));
        Assert.Contains("does not begin with its session-start record", e.Message);
    }

    [Fact]
    public void AnImpossibleControlBlockIsResetByTheNextProducerInsteadOfBlockingTheRingForever()
    {
        using var region = new TestRegion();
        RingProducer first = region.ProducerAB();
        Assert.True(first.TryWrite([1]));
        region.RingAB.WriteInt64(RingLayout.TailOffset, -1);

        RingProducer reopened = region.ProducerAB();
        Assert.NotNull(reopened.ResetReason);
        Assert.Contains("tail -1", reopened.ResetReason);
        Assert.True(reopened.TryWrite([2], type: 20));
        RingConsumer consumer = region.ConsumerAB();
        Assert.True(consumer.TryRead(out RingRecord record));
        Assert.Equal(2, record.Payload[0]);
        Assert.False(consumer.TryRead(out _));
    }

    [Fact]
    public void AProducerThatOpensAWellFormedRingReportsNoReset()
    {
        using var region = new TestRegion();
        RingProducer first = region.ProducerAB();
        Assert.True(first.TryWrite([1]));
        Assert.Null(region.ProducerAB().ResetReason);
    }

    [Fact]
    public void AStreamWhoseEndCarriesADifferentLengthThanWasReadIsAnError()
    {
        using var region = new TestRegion();
        (RingChannel a, RingChannel b) = region.PollingChannels();
        a.Producer.TryWrite(new byte[100], RecordTypes.StreamData);
        a.Producer.TryWrite(BitConverter.GetBytes(300L), RecordTypes.StreamEnd);

        using Stream reader = b.AsStream();
        var e = Assert.Throws<RingCorruptedException>(() => reader.CopyTo(Stream.Null));
        Assert.Contains("ended after 100 bytes, but its writer sent 300", e.Message);
    }

    [Fact]
    public void AStreamEndWithoutItsLengthIsAnError()
    {
        using var region = new TestRegion();
        (RingChannel a, RingChannel b) = region.PollingChannels();
        a.Producer.TryWrite([], RecordTypes.StreamEnd);

        using Stream reader = b.AsStream();
        var e = Assert.Throws<RingCorruptedException>(() => reader.CopyTo(Stream.Null));
        Assert.Contains("end-of-stream record of 0 bytes", e.Message);
    }

    [Fact]
    public void AStreamWrittenAndReadWholeEndsCleanly()
    {
        using var region = new TestRegion();
        (RingChannel a, RingChannel b) = region.PollingChannels();
        byte[] data = new byte[5000];
        new Random(7).NextBytes(data);
        using (Stream writer = a.AsStream()) writer.Write(data);

        using var received = new MemoryStream();
        b.AsStream().CopyTo(received);
        Assert.Equal(data, received.ToArray());
    }
}
