using Ivshmem.Daemon.Logging;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Server;

internal sealed partial class ServedRegion
{
    /// <summary>
    /// Takes back the peers of the previous daemon instance from the fd store, as its ledger lists
    /// them (docs/protocol.md, "Daemon restart"):
    /// <list type="bullet">
    /// <item>connection and every eventfd back: resumed. It is sent exactly what it has not heard yet,
    /// and its departure is noticed as before.</item>
    /// <item>a send to it was in flight when the daemon died: it stays (others still get its eventfds,
    /// its departure is still noticed) but is never sent anything again: orphaned.</item>
    /// <item>connection missing (systemd drops a stored socket whose other end hung up, so the peer
    /// left while the daemon was down) or eventfds missing: gone; the others are told.</item>
    /// </list>
    /// </summary>
    private void RestorePeers(RestoredFds restored)
    {
        if (!Ledger.EpochsKept) TakeOverEpochs();
        var slots = Enumerable.Range(0, Options.MaxPeers).Where(Ledger.IsPresent).OrderBy(Ledger.JoinSerial).ToList();
        int lost = 0, orphaned = 0;
        foreach (int slot in slots)
        {
            int id = Ledger.PeerId(slot);
            int socket = restored.Take(FdNames.PeerSocket(Name, id));
            int[] eventFds = new int[Vectors];
            bool complete = socket >= 0 && Interop.IsUnixStreamSocket(socket);
            for (int v = 0; v < Vectors; v++)
            {
                eventFds[v] = restored.Take(FdNames.PeerVector(Name, id, v));
                if (eventFds[v] < 0) complete = false;
            }
            string name = Ledger.Name(slot);
            if (!complete)
            {
                Interop.Close(socket);
                foreach (int fd in eventFds) Interop.Close(fd);
                Ledger.Release(slot, DateTimeOffset.UtcNow);
                _context.FdStore?.Remove(FdNames.PeerSocket(Name, id));
                for (int v = 0; v < Vectors; v++) _context.FdStore?.Remove(FdNames.PeerVector(Name, id, v));
                _log.PeerLeft(Name, id, slot, name, "it left while the daemon was not running (its connection did not come back from the fd store)");
                if (Ledger.Kind(slot) == PeerKind.VirtualMachine) RecordIfStillThatQemu(Ledger.Pid(slot), name, id);
                lost++;
                continue;
            }

            var credentials = new PeerCredentials(Ledger.Pid(slot), Ledger.Uid(slot), 0);
            var peer = new PeerConnection(this, socket, eventFds, id, slot, name, Ledger.Kind(slot), credentials,
                UserDatabase.UserName(credentials.Uid), Ledger.Since(slot), restored: true)
            {
                // Its connection is still open, so the pid is still that process's: its start time now is
                // the one it had (the ledger does not keep it).
                Process = Ledger.Kind(slot) == PeerKind.VirtualMachine ? Vm.QemuProcessIdentity.Of(credentials.Pid) : null,
            };
            if (Ledger.IsInFlight(slot) || Ledger.IsOrphaned(slot))
            {
                if (!Ledger.IsOrphaned(slot)) _log.PeerOrphaned(Name, id, name);
                Ledger.MarkOrphaned(slot);
                Ledger.SetInFlight(slot, false);
                peer.Orphaned = true;
                orphaned++;
            }
            peer.Token = _context.Loop.Register(socket, Interop.EPOLLIN_ | Interop.EPOLLRDHUP_, peer);
            _slots[slot] = peer;
            _peers.Add(peer);
        }

        RewritePeerTable();

        _log.RegionRestored(Name, _peers.Count, orphaned, lost, Ledger.NextPeerId);
        foreach (PeerConnection peer in _peers) Pump(peer);
        if (lost > 0)
            foreach (PeerConnection peer in _peers) RingControl(peer);
    }

    /// <summary>A VM that left while the daemon was down lost its device if its QEMU runs on. The ledger
    /// keeps the pid but not the start time, so the process counts as that QEMU only if it is a QEMU
    /// with the same VM name; a wrong guess refuses an attach, it never lets a crash through.</summary>
    private void RecordIfStillThatQemu(int pid, string vmName, int id)
    {
        (bool isQemu, string? runningName) = AdmissionPolicy.Identify(pid);
        if (isQemu && runningName == vmName)
            _context.Unplugged.Record(Vm.QemuProcessIdentity.Of(pid), vmName, Name, id);
    }

    /// <summary>
    /// The peer table is shared memory, and any peer may have scribbled on it: every entry is written
    /// again from the ledger. Slots of present peers say so with their id, kind, name and epoch; slots
    /// a peer held before say gone, with the last epoch (so channels bound to it fail); the others are free.
    /// </summary>
    private void RewritePeerTable()
    {
        PeerTable table = Memory.Region.Peers;
        for (int s = 0; s < Options.MaxPeers; s++)
        {
            uint epoch = Ledger.Epoch(s);
            if (_slots[s] is { } peer) table.Rewrite(s, PeerState.Present, epoch, peer.Id, peer.Kind, peer.Name, peer.Since);
            else if (epoch != 0) table.Rewrite(s, PeerState.Gone, epoch, Math.Clamp(Ledger.PeerId(s), 0, 0xFFFF), Ledger.Kind(s) is PeerKind.VirtualMachine or PeerKind.HostProcess ? Ledger.Kind(s) : PeerKind.Unknown, Ledger.Name(s), Ledger.Since(s));
            else table.Rewrite(s, PeerState.Free, 0, 0, PeerKind.Unknown, "", DateTimeOffset.UnixEpoch);
        }
    }

    /// <summary>
    /// A ledger written by an older daemon, which did not keep epochs there: the epochs are taken
    /// from the peer table this one time, the last time the region is believed about anything, and
    /// kept privately from then on.
    /// </summary>
    private void TakeOverEpochs()
    {
        for (int s = 0; s < Options.MaxPeers; s++)
        {
            uint epoch;
            try { epoch = Memory.Region.Peers.Read(s).Epoch; }
            catch (RegionFormatException) { epoch = 0; }
            Ledger.SetEpoch(s, epoch);
        }
        Ledger.MarkEpochsKept();
        _log.LedgerEpochsTakenOver(Name);
    }
}
