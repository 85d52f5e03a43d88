using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>A formatted region in anonymous shared memory with peers "a" (slot 0) and "b" (slot 1).</summary>
internal sealed class TestRegion : IDisposable
{
    private readonly MappedMemory _mapping;

    public TestRegion(long size = 64 * 1024, int slots = 2)
    {
        _mapping = MappedMemory.Anonymous(size);
        Region = Region.Format(_mapping.Memory, slots);
        A = Region.Peers.Join(0, peerId: 10, PeerKind.HostProcess, "a");
        B = Region.Peers.Join(1, peerId: 11, PeerKind.HostProcess, "b");
    }

    public Region Region { get; }
    public PeerEntry A { get; }
    public PeerEntry B { get; }
    public SharedMemory Memory => Region.Memory;

    public SharedMemory RingAB => Region.RingMemory(0, 1);
    public long RingABIndex => Region.Geometry.RingIndex(0, 1);
    public long Capacity => Region.Geometry.RingCapacity;

    public RingProducer ProducerAB(IRingSignal? signal = null) => new(RingAB, RingSession.New(B.Epoch), signal, "ring 0->1");
    public RingConsumer ConsumerAB(IRingSignal? signal = null) => new(RingAB, B.Epoch, signal, "ring 0->1");

    /// <summary>a's and b's channels to each other, polling (no doorbells).</summary>
    public (RingChannel A, RingChannel B) PollingChannels() =>
        (RingChannel.Open(Region, 0, 1, null, PollingWaiter.Instance), RingChannel.Open(Region, 1, 0, null, PollingWaiter.Instance));

    public void Dispose() => _mapping.Dispose();
}

/// <summary>Counts rings instead of waking anyone.</summary>
internal sealed class CountingSignal : IRingSignal
{
    private int _count;
    public int Count => Volatile.Read(ref _count);
    public void Ring() => Interlocked.Increment(ref _count);
}
