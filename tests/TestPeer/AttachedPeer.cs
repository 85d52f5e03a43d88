using Ivshmem.Ring;

namespace Ivshmem.TestPeer;

/// <summary>
/// One side of a region set up by a test: the memfd and the two eventfds (its own, the peer's) are
/// inherited fd numbers; its slot was joined in the peer table by the test.
/// </summary>
public sealed class AttachedPeer : IDisposable
{
    private readonly MappedMemory _mapping;
    private readonly EventFdWaiter _waiter;

    private AttachedPeer(MappedMemory mapping, Region region, EventFdWaiter waiter, RingChannel channel)
    {
        _mapping = mapping;
        Region = region;
        _waiter = waiter;
        Channel = channel;
    }

    public Region Region { get; }
    public RingChannel Channel { get; }

    public static AttachedPeer Open(PeerArgs a)
    {
        var mapping = MappedMemory.MapFile(a.Int("memfd"));
        var region = Region.Attach(mapping.Memory);
        var waiter = new EventFdWaiter([a.Int("event-mine")]);
        var channel = RingChannel.Open(region, a.Int("slot"), a.Int("peer"), new EventFdSignal(a.Int("event-peer")), waiter, a.ChannelOptions);
        return new AttachedPeer(mapping, region, waiter, channel);
    }

    public void Dispose()
    {
        _waiter.Dispose();
        _mapping.Dispose();
    }
}
