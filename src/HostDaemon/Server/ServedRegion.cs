using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Logging;
using Ivshmem.Ring;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// One region being served: its memory, its listening socket, its peers and its ledger. Everything
/// here runs on the server's event loop thread; what it needs of the server is its
/// <see cref="RegionContext"/>. The parts: set-up and teardown (this file), admission
/// (<c>ServedRegion.Admission.cs</c>), the messages (<c>ServedRegion.Messages.cs</c>), departures
/// (<c>ServedRegion.Departure.cs</c>) and restoring after a restart (<c>ServedRegion.Restore.cs</c>).
/// </summary>
internal sealed partial class ServedRegion
{
    private const int ListenBacklog = 4096;

    private readonly RegionContext _context;
    private readonly ILogger _log;
    private readonly PeerConnection?[] _slots;
    private readonly List<PeerConnection> _peers = []; // in join order
    private readonly Listener _listener;
    private AdmissionPolicy _policy;
    private int _listenFd = -1;
    // The end of the block of ids saved in the state directory: ids below it may be handed out
    // without writing anything (ServedRegion.Admission.cs, AllocatePeerId).
    private long _reservedPeerIds;
    private ulong _listenToken;
    private readonly SocketFileWatch _socketWatch;
    private bool _socketLost;      // its file was removed and binding again failed: retried at each check

    private ServedRegion(RegionContext context, RegionOptions options, RegionMemory memory, PeerLedger ledger)
    {
        _context = context;
        _log = context.Logger;
        Options = options;
        Memory = memory;
        Ledger = ledger;
        _slots = new PeerConnection?[options.MaxPeers];
        _listener = new Listener(this);
        _socketWatch = new SocketFileWatch(options.SocketPath, $"region '{options.Name}'", _log);
        _policy = AdmissionPolicy.Resolve(options, problem => _log.AdmissionNameUnknown(options.Name, problem));
    }

    public RegionOptions Options { get; }
    public RegionMemory Memory { get; }
    public PeerLedger Ledger { get; }
    public string Name => Options.Name;
    public int Vectors => Options.Vectors;
    public int PeerCount => _peers.Count;

    /// <summary>The name of the peer in <paramref name="slot"/> now, or null when the slot is free.</summary>
    public string? PeerNameInSlot(int slot) => _slots[slot]?.Name;

    /// <summary>Removed from the configuration: no new peers; closes when the last one leaves.</summary>
    public bool Retiring { get; private set; }

    /// <summary>Changed in the configuration while peers were connected: applied once they have left.</summary>
    public RegionOptions? PendingOptions { get; set; }

    /// <summary>
    /// Sets the region up: memory and ledger from the fd store when they came back from a restart
    /// (attached, never formatted), else new ones; then the peers of the previous instance; then the
    /// listening socket, last, so nobody connects to a half-built region.
    /// </summary>
    public static ServedRegion Open(RegionContext context, RegionOptions options, RestoredFds restored)
    {
        (RegionMemory memory, PeerLedger ledger) = RestoreOrCreateMemory(context, options, restored);
        // A region re-created under the same name (changed, or removed and added again) continues the
        // ids of its predecessor, and a region started without the fd store those of the previous
        // process (saved in the state directory): ids are never handed out twice in a region. Resumed
        // from the fd store, the ledger knows exactly where the ids stand.
        long saved = context.PeerIdStore.Load(options.Name, out string? problem);
        // (Re-created in this run, the history is exact; the file may be up to a block ahead.)
        if (!memory.Restored)
            ledger.NextPeerId = Math.Max(ledger.NextPeerId, context.PeerIds.Knows(options.Name) ? context.PeerIds.NextPeerIdOf(options.Name) : saved);
        if (problem is not null) context.Logger.PeerIdFileUnusable(options.Name, context.PeerIdStore.PathOf(options.Name), problem, ledger.NextPeerId);
        ServedRegion region;
        try
        {
            region = new ServedRegion(context, options, memory, ledger) { _reservedPeerIds = saved };
        }
        catch
        {
            ledger.Dispose();
            memory.Dispose();
            throw;
        }
        try
        {
            if (memory.Restored) region.RestorePeers(restored);
            else region.StoreRegionFds();
            region.Listen();
            context.Logger.RegionListening(options.Name, options.SizeBytes, memory.Description, options.Vectors, options.MaxPeers, options.SocketPath);
            return region;
        }
        catch
        {
            region.Close(unlinkSocket: false);
            throw;
        }
    }

    private static (RegionMemory, PeerLedger) RestoreOrCreateMemory(RegionContext context, RegionOptions options, RestoredFds restored)
    {
        int memoryFd = restored.Take(FdNames.Memory(options.Name));
        int ledgerFd = restored.Take(FdNames.Ledger(options.Name));
        if (memoryFd >= 0 && ledgerFd >= 0)
        {
            var memoryHandle = new SafeFileHandle(memoryFd, ownsHandle: true);
            var ledgerHandle = new SafeFileHandle(ledgerFd, ownsHandle: true);
            PeerLedger? ledger = null;
            try
            {
                // The private ledger first: it, not the region (which any peer can write), says what
                // the region is; the region's header is then rewritten from it.
                ledger = PeerLedger.Restore(ledgerHandle, options.MaxPeers, options.Vectors, options.SizeBytes);
                return (RegionMemory.Restore(memoryHandle, options, ledger.FormatId), ledger);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                // The configuration changed across the restart, or the store held something else: the
                // old VMs keep their memory among themselves; new peers get a new region.
                context.Logger.RestoredRegionDiscarded(options.Name, e.Message);
                memoryHandle.Dispose();
                if (ledger is not null) ledger.Dispose(); else ledgerHandle.Dispose();
                context.FdStore?.Remove(FdNames.Memory(options.Name));
                context.FdStore?.Remove(FdNames.Ledger(options.Name));
            }
        }
        else
        {
            Interop.Close(memoryFd);
            Interop.Close(ledgerFd);
        }

        RegionMemory created = RegionMemory.Create(options);
        try
        {
            return (created, PeerLedger.Create(options.Name, options.MaxPeers, options.Vectors, created.Region));
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>Parks the memory and the ledger in the fd store, so a restarted daemon finds them.</summary>
    private void StoreRegionFds()
    {
        if (_context.FdStore is not { } store) return;
        if (!store.Store(FdNames.Memory(Name), Memory.Fd) || !store.Store(FdNames.Ledger(Name), (int)Ledger.Handle.DangerousGetHandle()))
            _log.FdStoreRefused(Name, "region memory");
    }

    /// <summary>Creates the listening socket: replaces a stale socket file, binds, sets mode then
    /// owner (so CAP_FOWNER is never needed), listens.</summary>
    private void Listen()
    {
        string path = Options.SocketPath;
        SocketPaths.Prepare(path, $"region '{Name}'", _log);
        int fd = Interop.SocketCreate(Tmds.Linux.LibC.SOCK_STREAM, nonBlocking: true);
        try
        {
            Interop.Bind(fd, path);
            SocketPaths.ApplyOwnership(path, Options.SocketMode, Options.SocketOwner, Options.SocketGroup);
            Interop.Listen(fd, ListenBacklog, path);
            _listenToken = _context.Loop.Register(fd, Interop.EPOLLIN_, _listener);
            _listenFd = fd;
            _socketWatch.Bound();
        }
        catch
        {
            Interop.Close(fd);
            Interop.Unlink(path);
            throw;
        }
    }

    /// <summary>Listens again when the socket file was removed under the daemon: peers already
    /// connected never notice, new ones can connect again (docs/protocol.md, "Faults"). Loop thread,
    /// every few seconds.</summary>
    internal void CheckSocketFile()
    {
        if (Retiring) return;
        if (_listenFd >= 0 ? !_socketWatch.Check() : !_socketLost) return;
        StopListening(unlink: false);
        _socketLost = !_socketWatch.Rebind(Listen);
    }

    /// <summary>Stops accepting (and removes the socket file when asked).</summary>
    public void StopListening(bool unlink)
    {
        if (_listenFd < 0) return;
        _context.Loop.Unregister(_listenFd, _listenToken);
        Interop.Close(_listenFd);
        _listenFd = -1;
        if (unlink)
        {
            try { Interop.Unlink(Options.SocketPath); }
            catch (IOException e) { _log.SocketUnlinkFailed(Options.SocketPath, e.Message); }
        }
    }

    /// <summary>A reload removed this region while peers are connected: stop accepting, keep serving
    /// them, close when the last has gone.</summary>
    public void Retire()
    {
        Retiring = true;
        StopListening(unlink: true);
    }

    /// <summary>
    /// Tears the region down on this side: listening socket, peers' connections and eventfds, memory.
    /// Peers are told nothing: they have not left each other, their VMs keep the memory and the
    /// doorbells they hold (docs/protocol.md, "Stopping"). Used for a clean stop, a failed start and a
    /// region that goes away on reload (then without peers).
    /// </summary>
    public void Close(bool unlinkSocket)
    {
        _context.PeerIds.Remember(Name, Ledger.NextPeerId);
        StopListening(unlinkSocket);
        foreach (PeerConnection peer in _peers.ToArray()) Drop(peer);
        _peers.Clear();
        Array.Clear(_slots);
        Ledger.Dispose();
        Memory.Dispose();
    }

    /// <summary>Removes the region's fds from the store: it is gone for good (reload removed it).</summary>
    public void ForgetStoredFds()
    {
        if (_context.FdStore is not { } store) return;
        store.Remove(FdNames.Memory(Name));
        store.Remove(FdNames.Ledger(Name));
    }

    public RegionStatus BuildStatus()
    {
        var peers = new List<PeerStatus>(_peers.Count);
        foreach (PeerConnection p in _peers.OrderBy(p => p.Slot))
            peers.Add(new PeerStatus(p.Id, p.Slot, p.Name, p.Kind, p.Credentials.Pid, p.Credentials.Uid, p.User, p.Since, p.Restored, p.Orphaned));
        string state = Retiring ? "retiring" : PendingOptions is not null ? "changed" : "serving";
        return new RegionStatus(Name, Options.SizeBytes, Options.Backing, Memory.Description, Options.SocketPath, Options.Vectors,
            Options.MaxPeers, state, Memory.Restored, Memory.Region.FormatId, Ledger.NextPeerId, peers);
    }

    /// <summary>Closes this side of a peer without telling anyone (see <see cref="Close"/>).</summary>
    private void Drop(PeerConnection peer)
    {
        if (peer.Closed) return;
        peer.Closed = true;
        _context.Loop.Unregister(peer.Socket, peer.Token);
        Interop.Close(peer.Socket);
        foreach (int fd in peer.EventFds) Interop.Close(fd);
    }

    /// <summary>The listening socket's registration with the loop.</summary>
    private sealed class Listener(ServedRegion region) : IEventHandler
    {
        public void OnEvents(uint events) => region.AcceptPending();
    }
}
