using Ivshmem.Daemon.Logging;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Server;

/// <summary>Why a peer's connection ends; decides the log level.</summary>
internal enum DepartureKind
{
    /// <summary>End of file: the VM or host process closed it or exited. Normal.</summary>
    Closed,
    /// <summary>It sent bytes; clients never send (docs/protocol.md, "Transport and messages"), so it
    /// is dropped.</summary>
    SentData,
    /// <summary>Its socket reported an error, or a send to it failed.</summary>
    SendFailed,
    /// <summary>It had left while the daemon was not running (found at restore).</summary>
    LeftDuringRestart,
}

internal sealed partial class ServedRegion
{
    /// <summary>Readable means gone: data (not allowed), end of file, or an error (docs/protocol.md,
    /// "Transport and messages").
    /// Writable means there is room again for pending messages.</summary>
    internal void OnPeerEvents(PeerConnection peer, uint events)
    {
        if (peer.Closed) return;
        if ((events & (Interop.EPOLLIN_ | Interop.EPOLLRDHUP_ | Interop.EPOLLHUP_ | Interop.EPOLLERR_)) != 0)
        {
            int pending = Interop.PeekPending(peer.Socket);
            if (pending > 0) Depart(peer, $"it sent data ({pending}+ bytes); ivshmem clients never send", DepartureKind.SentData);
            else if (pending == 0) Depart(peer, "it closed the connection", DepartureKind.Closed);
            else if (pending == -Interop.EAGAIN) { /* spurious wake-up */ }
            // A process that exits with messages still unread in its socket makes the kernel reset
            // the connection: that is a departure like any other.
            else if (pending == -Interop.ECONNRESET) Depart(peer, "it closed the connection (with messages unread)", DepartureKind.Closed);
            else Depart(peer, $"its socket failed: {Interop.ErrorFor(-pending, "recv").Message}", DepartureKind.SendFailed);
            return;
        }
        if ((events & Interop.EPOLLOUT_) != 0) Pump(peer);
    }

    /// <summary>
    /// A peer has gone. In the order of the issue: close its connection and eventfds, tell every
    /// remaining peer its bare id (the derived messages do that), update the peer table, ring every
    /// remaining peer's control vector. Idempotent.
    /// </summary>
    internal void Depart(PeerConnection peer, string reason, DepartureKind kind)
    {
        if (peer.Closed) return;
        Drop(peer);
        _slots[peer.Slot] = null;
        _peers.Remove(peer);
        Ledger.Release(peer.Slot, DateTimeOffset.UtcNow);
        ForgetPeerFds(peer);

        foreach (PeerConnection other in _peers.ToArray()) Pump(other);
        // The whole entry, and the header, are rewritten from the daemon's own state, whatever a peer
        // wrote into them; rings between this slot and empty ones start afresh (docs/ring.md, "Recovery").
        Memory.Region.Peers.Rewrite(peer.Slot, PeerState.Gone, Ledger.Epoch(peer.Slot), peer.Id, peer.Kind, peer.Name, Ledger.Since(peer.Slot));
        Memory.Region.RewriteHeader();
        ResetRingsOfEmptyPairs(peer.Slot);
        foreach (PeerConnection other in _peers) RingControl(other);

        if (kind == DepartureKind.Closed || kind == DepartureKind.LeftDuringRestart) _log.PeerLeft(Name, peer.Id, peer.Slot, peer.Name, reason);
        else _log.PeerDropped(Name, peer.Id, peer.Slot, peer.Name, reason);
        // A QEMU closes its connection only when its device and chardev are removed or when it exits;
        // if it runs on, it lost the device, and another may not be added to it (docs/migration.md,
        // "Re-attaching into the same QEMU process"). The daemon closing it (data, a failed send) is not that.
        if (peer.Kind == PeerKind.VirtualMachine && kind is DepartureKind.Closed or DepartureKind.LeftDuringRestart)
            _context.Unplugged.Record(peer.Process, peer.Name, Name, peer.Id);
        _context.PeersChanged(this);
        if (_peers.Count == 0 && (Retiring || PendingOptions is not null)) _context.Emptied(this);
    }

    /// <summary>Clears the rings to and from <paramref name="slot"/> whose other end is empty too. A
    /// ring with a present peer at one end is left alone: that peer may still be reading or writing it,
    /// and its next producer repairs whatever is broken when it opens.</summary>
    private void ResetRingsOfEmptyPairs(int slot)
    {
        for (int other = 0; other < Options.MaxPeers; other++)
        {
            if (other == slot || _slots[other] is not null) continue;
            Memory.Region.ResetRing(slot, other);
            Memory.Region.ResetRing(other, slot);
        }
    }
}
