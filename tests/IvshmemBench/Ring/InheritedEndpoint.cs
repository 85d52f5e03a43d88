using Ivshmem.Bench.Children;
using Ivshmem.Bench.Native;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Ring;

/// <summary>
/// A host peer of a region the coordinator provisioned itself (<see cref="SelfProvisionedRegion"/>):
/// the memfd and two eventfds (this peer's doorbell, the other peer's) arrive as inherited fds, the
/// way ivshmemd hands them to a host peer over its socket. One vector per peer.
/// </summary>
internal sealed class InheritedEndpoint : IvshmemEndpoint
{
    private readonly MappedMemory _mapping;
    private readonly EventFdWaiter _interrupts;
    private readonly int _peerId;
    private readonly int _peerEventFd;

    private InheritedEndpoint(MappedMemory mapping, Region region, int ownId, int peerId, int ownEventFd, int peerEventFd)
    {
        _mapping = mapping;
        Region = region;
        OwnId = ownId;
        _peerId = peerId;
        _peerEventFd = peerEventFd;
        _interrupts = new EventFdWaiter([ownEventFd], ownsFds: true);
    }

    public override Region Region { get; }
    public override int OwnId { get; }
    public override int VectorCount => 1;
    public override IRingWaiter Interrupts => _interrupts;

    /// <summary>Attaches to the region in the inherited memfd (keys memfd, id, peer-id, event-mine, event-peer).</summary>
    public static InheritedEndpoint Open(ChildArgs a)
    {
        int memfd = a.Int("memfd");
        var mapping = MappedMemory.MapFile(memfd);
        Posix.Close(memfd);
        var region = Region.Attach(mapping.Memory);
        return new InheritedEndpoint(mapping, region, a.Int("id"), a.Int("peer-id"), a.Int("event-mine"), a.Int("event-peer"));
    }

    public override IRingSignal Doorbell(int peerId, int vector)
    {
        if (peerId != _peerId || vector != 0)
            throw new ArgumentOutOfRangeException(nameof(peerId), $"this endpoint only has a doorbell for peer {_peerId}, vector 0 (asked for peer {peerId}, vector {vector})");
        return new EventFdSignal(_peerEventFd);
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _interrupts.Dispose();
        Posix.Close(_peerEventFd);
        _mapping.Dispose();
    }
}
