using Ivshmem.Ring;

namespace Ivshmem.Peer.Host;

/// <summary>
/// Rings one vector of one peer through the eventfd the server sent for it. Looked up at every ring,
/// so a peer that left (its eventfds closed) is simply not rung, and a closed fd number that the
/// process has since reused for something else is never written to.
/// </summary>
internal sealed class PeerDoorbell(HostPeer owner, int peerId, int vector) : IRingSignal
{
    public void Ring() => owner.Ring(peerId, vector);

    public override string ToString() => $"doorbell of peer {peerId} vector {vector}";
}
