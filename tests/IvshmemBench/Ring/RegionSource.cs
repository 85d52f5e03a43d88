using Ivshmem.Bench.Coordination;

namespace Ivshmem.Bench.Ring;

/// <summary>
/// Where the ring transports' region comes from: the seam between regions served by a running ivshmemd
/// that the children join as host peers (<see cref="DaemonRegion"/>, the default) and a region this
/// program provisions itself (<see cref="SelfProvisionedRegion"/>: a memfd and eventfds handed to the
/// children), which needs no daemon. Either way each child ends
/// up with an <see cref="Ivshmem.Peer.IvshmemEndpoint"/> and opens its channel the same way
/// (<see cref="RingEndpoints"/>).
/// </summary>
internal interface IRegionSource : IDisposable
{
    /// <summary>One line for the report: what provided the region, its size and backing.</summary>
    string Description { get; }

    /// <summary>A fresh pairing of two peers on a region: what the child playing each side needs.
    /// Side A is the sender (or pinger), side B the receiver (or ponger).</summary>
    RegionPairing Pair();
}

/// <summary>Two peers' endpoint arguments; disposing it gives back what the pairing holds.</summary>
internal sealed class RegionPairing(ChildEndpointArgs a, ChildEndpointArgs b, Action? release = null) : IDisposable
{
    public ChildEndpointArgs A { get; } = a;
    public ChildEndpointArgs B { get; } = b;

    public void Dispose() => release?.Invoke();
}
