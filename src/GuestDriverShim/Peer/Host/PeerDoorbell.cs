using Ivshmem.Ring;

namespace Ivshmem.Peer.Host;

/// <summary>
/// Rings one vector of one peer through the eventfd the server sent for it. The eventfd is looked up
/// once, under the peer's lock, and kept; every ring holds a reference on its handle for the write,
/// so a peer that left (its eventfds closed) is simply not rung, and a closed fd number that the
/// process has since reused for something else is never written to. Once the kept handle is closed
/// the next ring looks it up again (finding nothing, since ids are never reused). Keeping it spares
/// the ring's wake-up path a lock and a dictionary lookup per doorbell (docs/ring.md, "The wake-up
/// path").
/// </summary>
internal sealed class PeerDoorbell(HostPeer owner, int peerId, int vector) : IRingSignal
{
    private DoorbellTarget? _target;

    public void Ring()
    {
        DoorbellTarget? target = Volatile.Read(ref _target);
        if (target is null)
        {
            if (!owner.TryGetDoorbell(peerId, vector, out target)) return; // not (or no longer) connected: like a guest's Doorbell write, silently nothing
            Volatile.Write(ref _target, target);
        }
        if (!target.TryRing()) Volatile.Write(ref _target, null);
    }

    public override string ToString() => $"doorbell of peer {peerId} vector {vector}";
}
