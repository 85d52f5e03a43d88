using Ivshmem.Daemon.Logging;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// The messages to each peer, derived from the ledger rather than queued: what a peer must still be
/// told is the difference between what it knows (the ledger) and what is true (the peers present
/// now), in this order (docs/protocol.md, "The handshake, in order"):
/// <list type="number">
/// <item>the header: version 0, its id, -1 with the memory fd;</item>
/// <item>departures of peers it was told about (the bare id);</item>
/// <item>the eventfds of every other present peer, in join order, vector 0 first;</item>
/// <item>its own eventfds.</item>
/// </list>
/// For a newcomer on an idle region that is exactly the reference server's order. Nothing is queued,
/// so a peer that stops reading costs nothing but its socket buffer, a peer that leaves before
/// everybody heard of it is simply never announced (or announced as gone if some of its eventfds were
/// already sent), no fd has to be kept open for a pending message, and the state that a restarted
/// daemon needs is the ledger alone.
/// </summary>
internal sealed partial class ServedRegion
{
    private enum MessageKind
    {
        Header,
        Departure,
        Vector,
    }

    /// <summary>Sends what <paramref name="peer"/> still has to hear until it knows everything or its
    /// socket is full (then EPOLLOUT brings it back here). Allocates nothing.</summary>
    private void Pump(PeerConnection peer)
    {
        if (peer.Closed || peer.Failed || peer.Orphaned) return;
        while (NextMessage(peer, out long value, out int fd, out MessageKind kind, out int subjectSlot))
        {
            Ledger.SetInFlight(peer.Slot, true);
            SendOutcome outcome = Interop.SendMessage(peer.Socket, value, fd, out int errno);
            if (outcome == SendOutcome.Sent) Commit(peer, kind, subjectSlot, value);
            Ledger.SetInFlight(peer.Slot, false);
            if (outcome == SendOutcome.Sent) continue;
            if (outcome == SendOutcome.WouldBlock)
            {
                SetOutputArmed(peer, true);
                return;
            }
            // Its departure is handled after the current event, not in the middle of an iteration
            // over the peers (a broadcast may be what failed).
            peer.Failed = true;
            // EPIPE and ECONNRESET: it closed its end (exited) before the loop saw the end of file.
            bool closed = errno is Interop.EPIPE or Interop.ECONNRESET;
            string reason = closed ? "it closed the connection" : $"sending to it failed: {Interop.ErrorFor(errno, "sendmsg").Message}";
            _context.Loop.Post(() => Depart(peer, reason, closed ? DepartureKind.Closed : DepartureKind.SendFailed));
            return;
        }
        SetOutputArmed(peer, false);
    }

    /// <summary>Whether <paramref name="peer"/> still has something to hear (for the flush on stop).</summary>
    private bool HasPending(PeerConnection peer) =>
        !peer.Closed && !peer.Failed && !peer.Orphaned && NextMessage(peer, out _, out _, out _, out _);

    private bool NextMessage(PeerConnection peer, out long value, out int fd, out MessageKind kind, out int subjectSlot)
    {
        int self = peer.Slot;
        kind = MessageKind.Header;
        subjectSlot = self;
        switch (Ledger.HeaderSent(self))
        {
            case 0: value = 0; fd = -1; return true;                   // 1. protocol version
            case 1: value = peer.Id; fd = -1; return true;             // 2. your id
            case 2: value = -1; fd = Memory.Fd; return true;           // 3. the shared memory
        }

        kind = MessageKind.Departure;
        for (int t = 0; t < _slots.Length; t++)
        {
            int known = Ledger.KnownSubject(self, t);
            if (known < 0 || t == self) continue;
            PeerConnection? occupant = _slots[t];
            if (occupant is null || occupant.Id != known)
            {
                value = known; fd = -1; subjectSlot = t;
                return true;
            }
        }

        kind = MessageKind.Vector;
        foreach (PeerConnection other in _peers)
        {
            if (other == peer) continue;
            int delivered = Ledger.KnownSubject(self, other.Slot) == other.Id ? Ledger.KnownVectors(self, other.Slot) : 0;
            if (delivered < other.EventFds.Length)
            {
                value = other.Id; fd = other.EventFds[delivered]; subjectSlot = other.Slot;
                return true;
            }
        }
        int own = Ledger.KnownSubject(self, self) == peer.Id ? Ledger.KnownVectors(self, self) : 0;
        if (own < peer.EventFds.Length)
        {
            value = peer.Id; fd = peer.EventFds[own]; subjectSlot = self;
            return true;
        }
        value = 0; fd = -1;
        return false;
    }

    /// <summary>Records in the ledger that the message went out.</summary>
    private void Commit(PeerConnection peer, MessageKind kind, int subjectSlot, long value)
    {
        int self = peer.Slot;
        switch (kind)
        {
            case MessageKind.Header:
                Ledger.SetHeaderSent(self, Ledger.HeaderSent(self) + 1);
                break;
            case MessageKind.Departure:
                Ledger.Forget(self, subjectSlot);
                break;
            default:
                int subjectId = (int)value;
                int delivered = Ledger.KnownSubject(self, subjectSlot) == subjectId ? Ledger.KnownVectors(self, subjectSlot) : 0;
                Ledger.SetKnown(self, subjectSlot, subjectId, delivered + 1);
                break;
        }
    }

    private void SetOutputArmed(PeerConnection peer, bool armed)
    {
        if (peer.OutputArmed == armed || peer.Closed) return;
        uint events = Interop.EPOLLIN_ | Interop.EPOLLRDHUP_ | (armed ? Interop.EPOLLOUT_ : 0);
        _context.Loop.Modify(peer.Socket, peer.Token, events);
        peer.OutputArmed = armed;
        if (armed) _log.PeerBackpressure(Name, peer.Id);
    }

    /// <summary>Sends what can be sent to everyone; true when nobody has anything pending any more.</summary>
    public bool Flush()
    {
        bool done = true;
        foreach (PeerConnection peer in _peers)
        {
            Pump(peer);
            if (HasPending(peer)) done = false;
        }
        return done;
    }
}
