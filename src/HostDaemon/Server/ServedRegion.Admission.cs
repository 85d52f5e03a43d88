using Ivshmem.Daemon.Logging;
using Ivshmem.Ring;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Server;

internal sealed partial class ServedRegion
{
    private static readonly TimeSpan AcceptPause = TimeSpan.FromSeconds(1);

    /// <summary>A full region looks again this often, this many times, before it refuses with "full":
    /// a peer that has just closed may not have reached its end of file yet (its socket still open
    /// for a moment in a process that forked), and its slot must not be the reason for a refusal.</summary>
    private static readonly TimeSpan FullRetryDelay = TimeSpan.FromMilliseconds(25);
    private const int FullRetries = 4;

    /// <summary>Accepts every waiting connection. Out of fds (EMFILE/ENFILE) the listener would stay
    /// readable and spin the loop, so it is paused for a second instead.</summary>
    private void AcceptPending()
    {
        while (_listenFd >= 0)
        {
            int fd;
            try
            {
                fd = Interop.Accept(_listenFd);
            }
            catch (IOException e)
            {
                _log.AcceptFailed(Name, e.Message);
                PauseAccepting();
                return;
            }
            if (fd < 0) return;
            TryAdmit(fd, attempt: 0);
        }
    }

    private void PauseAccepting()
    {
        int fd = _listenFd;
        ulong token = _listenToken;
        _context.Loop.Modify(fd, token, 0);
        _context.Loop.Schedule(AcceptPause, () =>
        {
            if (_listenFd == fd && _listenToken == token) _context.Loop.Modify(fd, token, Interop.EPOLLIN_);
        });
    }

    private void TryAdmit(int fd, int attempt)
    {
        try
        {
            Admit(fd, attempt);
        }
        catch (Exception e)
        {
            // Set-up failed before the peer was announced (no eventfds, fd store...): it got
            // nothing yet, so refusing is still possible and keeps QEMU from spinning.
            _log.AdmissionFailed(Name, e.Message);
            SendRefusalAndClose(fd, RefusalReason.NotAdmitted);
        }
    }

    /// <summary>
    /// Decides about a new connection and either refuses it (a nonzero version message, then close) or
    /// makes it a peer: eventfds, id, slot, fd store, ledger, peer table, then the messages (its
    /// handshake, and its eventfds to everyone else), then the control vector of the others.
    /// </summary>
    private void Admit(int fd, int attempt)
    {
        if (_listenFd < 0)
        {
            // Waited for a slot (below) while the region stopped listening: removed or stopping.
            SendRefusalAndClose(fd, RefusalReason.ShuttingDown);
            return;
        }
        HandlePendingHangups();
        PeerCredentials credentials = Interop.GetPeerCredentials(fd);
        string user = UserDatabase.UserName(credentials.Uid);
        uint[]? groups = Options.AllowGroups.Count > 0 ? Interop.GetPeerGroups(fd) : null;
        (bool isQemu, string? vmName) = AdmissionPolicy.Identify(credentials.Pid);
        string? boundName = Interop.GetPeerAbstractName(fd);

        AdmissionDecision decision = Retiring
            ? AdmissionDecision.Refuse(RefusalReason.ShuttingDown, "the region is being removed")
            : _policy.Decide(credentials, groups, user, isQemu, vmName, boundName, IsNameInUse);
        int slot = -1, id = -1;
        if (decision.Admitted)
        {
            slot = Array.IndexOf(_slots, null);
            if (slot < 0 && attempt < FullRetries)
            {
                _context.Loop.Schedule(FullRetryDelay, () => TryAdmit(fd, attempt + 1));
                return;
            }
            if (slot < 0) decision = AdmissionDecision.Refuse(RefusalReason.RegionFull, $"all {Options.MaxPeers} peer slots are taken (max_peers)");
        }
        if (decision.Admitted && System.Text.Encoding.UTF8.GetByteCount(decision.Name) > PeerTable.MaxNameBytes)
            decision = AdmissionDecision.Refuse(RefusalReason.NotAdmitted, $"its name '{decision.Name}' is longer than the {PeerTable.MaxNameBytes} bytes a peer table entry holds; use a shorter -name");
        if (decision.Admitted)
        {
            id = AllocatePeerId();
            if (id == -1) decision = AdmissionDecision.Refuse(RefusalReason.NoPeerIdLeft, "all 65536 peer ids were handed out while peers stayed connected");
            else if (id < 0) decision = AdmissionDecision.Refuse(RefusalReason.NotAdmitted, "its id could not be saved in the state directory first (see the error before)");
        }
        if (!decision.Admitted)
        {
            _log.PeerRefused(Name, credentials.Pid, user, credentials.Uid, decision.Explanation, (int)decision.Refusal);
            SendRefusalAndClose(fd, decision.Refusal);
            return;
        }

        int[] eventFds = new int[Vectors];
        Array.Fill(eventFds, -1);
        PeerConnection? peer = null;
        try
        {
            for (int v = 0; v < Vectors; v++) eventFds[v] = Interop.EventFdCreate();
            var since = DateTimeOffset.UtcNow;
            peer = new PeerConnection(this, fd, eventFds, id, slot, decision.Name, decision.Kind, credentials, user, since, restored: false)
            {
                Process = decision.Kind == PeerKind.VirtualMachine ? Vm.QemuProcessIdentity.Of(credentials.Pid) : null,
            };
            peer.Token = _context.Loop.Register(fd, Interop.EPOLLIN_ | Interop.EPOLLRDHUP_, peer);
        }
        catch
        {
            foreach (int e in eventFds) Interop.Close(e);
            throw; // the caller refuses the connection: nothing was sent yet
        }
        // From here on nothing throws for a reason the peer could cause (its name was checked above):
        // fd store sends report failure by result, the ledger and the peer table are plain stores.
        StorePeerFds(peer);
        // The epoch comes from the ledger's own count for the slot, never from the region.
        uint epoch = Ledger.NextEpoch(slot);
        Ledger.Admit(slot, id, credentials.Pid, credentials.Uid, decision.Kind, decision.Name, Ledger.TakeJoinSerial(), peer.Since, epoch);
        Memory.Region.Peers.Join(slot, id, decision.Kind, decision.Name, epoch, peer.Since);
        _slots[slot] = peer;
        _peers.Add(peer);
        _log.PeerJoined(Name, id, slot, decision.Name, KindName(decision.Kind), credentials.Pid, user);

        foreach (PeerConnection other in _peers.ToArray()) Pump(other);
        foreach (PeerConnection other in _peers)
            if (other != peer) RingControl(other);
        _context.PeersChanged(this);
    }

    /// <summary>
    /// Hangups already pending are handled before anyone is admitted: a VM that closes and reconnects
    /// at once must find its slot (and its name) free, even when the loop has not yet been told of
    /// the end of file, or is told in the same batch after the listener. A zero-timeout peek per peer
    /// (at most max_peers), the same check <see cref="OnPeerEvents"/> makes.
    /// </summary>
    private void HandlePendingHangups()
    {
        foreach (PeerConnection peer in _peers.ToArray())
            if (!peer.Closed && Interop.PeekPending(peer.Socket) != -Interop.EAGAIN)
                OnPeerEvents(peer, Interop.EPOLLIN_);
    }

    /// <summary>The next unused id; -1 when none is left, -2 when it could not be saved first. Ids
    /// only grow (QEMU 7.2 corrupts its heap when an id comes back: docs/protocol.md, "Peer ids"); only
    /// when nobody at all is connected any more, so that no live QEMU can have seen an old id, may the
    /// counter start again at 0. Before an id of a new block of <see cref="PeerIdStore.BlockSize"/> is
    /// handed out, the end of the block is saved in the state directory, so that neither a stop and
    /// start without the fd store nor a crash can bring an id back.</summary>
    private int AllocatePeerId()
    {
        long next = Ledger.NextPeerId;
        if (next > 0xFFFF)
        {
            if (_peers.Count > 0) return -1;
            _log.PeerIdsWrapped(Name);
            next = 0;
            _reservedPeerIds = 0;
        }
        if (next >= _reservedPeerIds)
        {
            long upTo = Math.Min(next + PeerIdStore.BlockSize, PeerIdStore.Limit);
            try { _context.PeerIdStore.Save(Name, upTo); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.PeerIdSaveFailed(Name, _context.PeerIdStore.PathOf(Name), e.Message);
                return -2;
            }
            _reservedPeerIds = upTo;
        }
        Ledger.NextPeerId = next + 1;
        return (int)next;
    }

    /// <summary>Saves the reserved ids again when their file was removed under the daemon (the state
    /// directory cleaned; it is the runtime directory's by default), so that a crash before the next
    /// block still cannot bring an id back. Loop thread, every few seconds.</summary>
    internal void CheckPeerIdFile()
    {
        if (_reservedPeerIds == 0) return;
        string path = _context.PeerIdStore.PathOf(Name);
        if (File.Exists(path)) return;
        try
        {
            _context.PeerIdStore.Prepare();
            _context.PeerIdStore.Save(Name, _reservedPeerIds);
            _log.PeerIdFileRestored(Name, path, _reservedPeerIds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.PeerIdSaveFailed(Name, path, e.Message);
        }
    }

    private bool IsNameInUse(string name)
    {
        foreach (PeerConnection p in _peers)
            if (p.Name == name) return true;
        return false;
    }

    /// <summary>
    /// Refuses without hanging QEMU: one version message with the nonzero <paramref name="reason"/>
    /// (QEMU's realize fails with "server sent version N, expecting 0" and QEMU exits), then close.
    /// A fresh socket always has room for 8 bytes; if not, closing is all that is left.
    /// </summary>
    private void SendRefusalAndClose(int fd, RefusalReason reason)
    {
        Interop.SendMessage(fd, (long)reason, -1, out _);
        Interop.Close(fd);
    }

    /// <summary>The connection and eventfds of a new peer go to the fd store before it is sent
    /// anything, so that a restarted daemon can resume it.</summary>
    private void StorePeerFds(PeerConnection peer)
    {
        if (_context.FdStore is not { } store) return;
        bool ok = store.Store(FdNames.PeerSocket(Name, peer.Id), peer.Socket);
        for (int v = 0; v < peer.EventFds.Length && ok; v++)
            ok = store.Store(FdNames.PeerVector(Name, peer.Id, v), peer.EventFds[v]);
        if (!ok) _log.FdStoreRefused(Name, $"the connection of peer {peer.Id}");
    }

    private void ForgetPeerFds(PeerConnection peer)
    {
        if (_context.FdStore is not { } store) return;
        store.Remove(FdNames.PeerSocket(Name, peer.Id));
        for (int v = 0; v < peer.EventFds.Length; v++) store.Remove(FdNames.PeerVector(Name, peer.Id, v));
    }

    /// <summary>Rings the peer's control vector (vector 0): the peer table changed.</summary>
    private static void RingControl(PeerConnection peer)
    {
        if (!peer.Closed) Interop.EventFdSignal(peer.EventFds[0]);
    }

    internal static string KindName(PeerKind kind) => kind switch
    {
        PeerKind.VirtualMachine => "vm",
        PeerKind.HostProcess => "host",
        _ => "unknown",
    };
}
