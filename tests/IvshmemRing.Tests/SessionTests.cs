using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>Which records a consumer sees when either side (re)opens, in either order.</summary>
public class SessionTests
{
    [Fact]
    public void AConsumerThatJoinsLateStillGetsEverythingOfTheSession()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        Assert.True(producer.TryWrite([1]));
        Assert.True(producer.TryWrite([2]));
        Assert.False(producer.ConsumerJoined);
        RingConsumer consumer = region.ConsumerAB();
        Assert.True(consumer.TryRead(out RingRecord r));
        Assert.Equal(1, r.Payload[0]);
        Assert.True(producer.ConsumerJoined);
    }

    [Fact]
    public void AConsumerWaitsForAProducerSessionAddressedToItsEpoch()
    {
        using var region = new TestRegion();
        var consumer = new RingConsumer(region.RingAB, epoch: region.B.Epoch);
        var stranger = new RingProducer(region.RingAB, RingSession.New(region.B.Epoch + 1));
        Assert.True(stranger.TryWrite([1]));
        Assert.False(consumer.TryRead(out _));
        Assert.False(consumer.Joined);
    }

    [Fact]
    public void ANewPeerInTheSameSlotNeverReadsWhatWasWrittenForTheOldOne()
    {
        using var region = new TestRegion();
        RingProducer oldSession = region.ProducerAB();
        RingConsumer oldConsumer = region.ConsumerAB();
        Assert.True(oldSession.TryWrite([1]));
        Assert.True(oldConsumer.TryRead(out _));
        oldConsumer.Release();
        Assert.True(oldSession.TryWrite([2])); // never read: b leaves

        region.Region.Peers.Leave(1);
        PeerEntry b2 = region.Region.Peers.Join(1, 20, PeerKind.VirtualMachine, "b2");
        var newConsumer = new RingConsumer(region.RingAB, b2.Epoch);
        Assert.True(oldSession.TryWrite([3])); // a has not noticed yet: still for the old b
        Assert.False(newConsumer.TryRead(out _));

        var newSession = new RingProducer(region.RingAB, RingSession.New(b2.Epoch));
        Assert.True(newSession.TryWrite([4]));
        Assert.True(newConsumer.TryRead(out RingRecord r));
        Assert.Equal(4, r.Payload[0]);
        Assert.False(newConsumer.TryRead(out _));
    }

    [Fact]
    public void AProducerThatReopensStartsANewSessionAndTheOldReaderCanTell()
    {
        using var region = new TestRegion();
        RingProducer first = region.ProducerAB();
        RingConsumer consumer = region.ConsumerAB();
        Assert.True(first.TryWrite([1]));
        Assert.True(consumer.TryRead(out _));
        consumer.Release();
        RingProducer second = region.ProducerAB();
        Assert.NotEqual(consumer.Session, consumer.ProducerSession);

        Assert.True(second.TryWrite([2]));
        var fresh = region.ConsumerAB();
        Assert.True(fresh.TryRead(out RingRecord r));
        Assert.Equal(2, r.Payload[0]);
    }

    [Fact]
    public void AConsumerRestartedWithinTheSameSessionContinuesWhereTheOldOneReleased()
    {
        using var region = new TestRegion();
        RingProducer producer = region.ProducerAB();
        RingConsumer first = region.ConsumerAB();
        Assert.True(producer.TryWrite([1]));
        Assert.True(producer.TryWrite([2]));
        Assert.True(first.TryRead(out _));
        first.Release();
        RingConsumer again = region.ConsumerAB();
        Assert.True(again.TryRead(out RingRecord r));
        Assert.Equal(2, r.Payload[0]);
    }

    [Fact]
    public void JoiningFreesSpaceOfTheOldSessionAndWakesAWaitingProducer()
    {
        using var region = new TestRegion();
        RingProducer old = region.ProducerAB();
        while (old.TryWrite(new byte[old.MaxPayload])) { }
        var toProducer = new CountingSignal();
        RingProducer producer = region.ProducerAB();
        Assert.False(producer.HasSpaceFor(producer.MaxPayload));
        producer.SetWaiting(true);
        RingConsumer consumer = region.ConsumerAB(toProducer);
        Assert.False(consumer.TryRead(out _));
        Assert.Equal(1, toProducer.Count);
        Assert.True(producer.HasSpaceFor(producer.MaxPayload));
    }
}
