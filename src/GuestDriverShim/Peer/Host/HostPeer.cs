using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Ivshmem.Ring;
using Microsoft.Win32.SafeHandles;

namespace Ivshmem.Peer.Host;

/// <summary>
/// A host process as a peer of an ivshmemd region: it connects to the region's socket exactly as
/// QEMU's ivshmem-doorbell does, checks every message of the handshake (version 0, its id, the memory
/// fd, the other peers' eventfds, its own eventfds; docs/protocol.md, "The handshake, in order"), maps
/// the memory, attaches the region, and then follows peers joining and leaving. It is the same
/// <see cref="IvshmemEndpoint"/> a guest gets from its PCI device, so the ring library runs unchanged
/// on it: doorbells are writes to the peers' eventfds, interrupts are reads of its own.
/// <para>With <see cref="HostPeerOptions.RecordMessages"/> it keeps every message it received, which
/// is what the daemon's protocol tests check against the specification.</para>
/// </summary>
public sealed partial class HostPeer : IvshmemEndpoint
{
    private readonly string _socketPath;
    private readonly HostPeerOptions _options;
    private readonly int _socket;
    private readonly ProtocolReader _protocol;
    private readonly object _gate = new();
    private readonly List<ServerMessage>? _messages;
    private readonly List<string> _problems = [];
    private readonly Dictionary<int, PeerFds> _peers = [];
    private readonly HashSet<int> _departed = [];
    private readonly List<int> _joinOrder = [];
    private readonly SafeFileHandle[] _own;
    private readonly EventFdSignal[] _ownSignals;
    private SafeFileHandle? _memoryFd;
    private MappedMemory? _mapping;
    private Region? _region;
    private EventFdWaiter? _waiter;
    private Thread? _readerThread;
    private int _stopFd = -1;
    private bool _serverGone;
    private bool _disposed;

    private HostPeer(string socketPath, HostPeerOptions options, int socket)
    {
        _socketPath = socketPath;
        _options = options;
        _socket = socket;
        _protocol = new ProtocolReader(socket);
        _messages = options.RecordMessages ? [] : null;
        _own = new SafeFileHandle[options.Vectors];
        _ownSignals = new EventFdSignal[options.Vectors];
    }

    /// <summary>
    /// Connects to the region socket at <paramref name="socketPath"/> and completes the handshake.
    /// Throws <see cref="ServerRefusedException"/> when the daemon refuses this process,
    /// <see cref="HostPeerProtocolException"/> when the server breaks the protocol,
    /// <see cref="TimeoutException"/> when the handshake does not complete in time, and
    /// <see cref="IOException"/> when the socket cannot be reached.
    /// </summary>
    public static HostPeer Connect(string socketPath, HostPeerOptions? options = null)
    {
        options ??= HostPeerOptions.Default;
        if (options.Vectors is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(options), $"vectors {options.Vectors} is outside 1..65535");
        int socket = Interop.UnixStreamSocket();
        HostPeer? peer = null;
        try
        {
            if (options.Name is { } name)
            {
                // A random token keeps the abstract address unique even if a process joins several regions.
                string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
                Interop.Bind(socket, $"@ivshmem-peer/{token}/{name}");
            }
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            Interop.Connect(socket, socketPath);
            peer = new HostPeer(socketPath, options, socket);
            peer.Handshake();
            peer.HandshakeTime = System.Diagnostics.Stopwatch.GetElapsedTime(start);
            peer.AttachMemory();
            if (options.TrackPeers) peer.StartReader();
            return peer;
        }
        catch
        {
            if (peer is not null) peer.Dispose();
            else Interop.Close(socket);
            throw;
        }
    }

    public string SocketPath => _socketPath;

    /// <summary>From connect() to the last of this peer's own eventfds: the handshake as the server
    /// ran it (mapping the memory afterwards is not included).</summary>
    public TimeSpan HandshakeTime { get; private set; }

    public override int OwnId => _ownId;

    public override int VectorCount => _options.Vectors;

    public override Region Region => _region ?? throw new InvalidOperationException(
        $"{_socketPath}: no region is attached (HostPeerOptions.AttachRegion is off, or the memory holds no ivshmemd region)");

    /// <summary>The whole shared memory as mapped here (the region starts at offset 0).</summary>
    public SharedMemory Memory => (_mapping ?? throw new ObjectDisposedException(nameof(HostPeer))).Memory;

    /// <summary>The memory fd the server sent (borrowed: this peer closes it on dispose).</summary>
    public int MemoryFd => (int)(_memoryFd ?? throw new ObjectDisposedException(nameof(HostPeer))).DangerousGetHandle();

    /// <summary>False once the server closed the connection (it stopped or was restarted without an fd
    /// store). Memory and doorbells keep working; peers that join later are not seen.</summary>
    public bool IsServerConnected
    {
        get { lock (_gate) return !_serverGone; }
    }

    /// <summary>Every message received so far (only with <see cref="HostPeerOptions.RecordMessages"/>).</summary>
    internal IReadOnlyList<ServerMessage> Messages
    {
        get { lock (_gate) return _messages is null ? [] : [.. _messages]; }
    }

    /// <summary>Protocol violations seen after the handshake (during the handshake they throw). QEMU
    /// prints such things and carries on; so does this peer, and it keeps them here.</summary>
    internal IReadOnlyList<string> Problems
    {
        get { lock (_gate) return [.. _problems]; }
    }

    /// <summary>The ids of the other peers this one has eventfds for, in the order they were announced.</summary>
    public IReadOnlyList<int> PeerIds
    {
        get { lock (_gate) return [.. _joinOrder]; }
    }

    /// <summary>How many eventfds of peer <paramref name="peerId"/> arrived (0 when unknown).</summary>
    public int PeerVectorCount(int peerId)
    {
        lock (_gate) return _peers.TryGetValue(peerId, out PeerFds? p) ? p.Count : 0;
    }

    /// <summary>Raised (on the reader thread) when all eventfds of a new peer have arrived.</summary>
    public event Action<int>? PeerConnected;

    /// <summary>Raised (on the reader thread) when the server announced that a peer left.</summary>
    public event Action<int>? PeerDisconnected;

    /// <summary>Raised (on the reader thread) when the server closed the connection.</summary>
    public event Action? ServerDisconnected;

    public override IRingSignal Doorbell(int peerId, int vector)
    {
        if ((uint)vector >= (uint)VectorCount) throw new ArgumentOutOfRangeException(nameof(vector), $"vector {vector} is outside 0..{VectorCount - 1}");
        if ((uint)peerId > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(peerId), $"peer id {peerId} is outside 0..65535");
        return new PeerDoorbell(this, peerId, vector);
    }

    public override IRingWaiter Interrupts
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _waiter ??= new EventFdWaiter(_own.Select(h => (int)h.DangerousGetHandle()).ToArray());
            }
        }
    }

    /// <summary>This peer's own eventfd for <paramref name="vector"/> (others ring it; read it to take
    /// interrupts without <see cref="Interrupts"/>). Borrowed.</summary>
    internal int OwnEventFd(int vector) => (int)_own[vector].DangerousGetHandle();

    /// <summary>The eventfd this peer holds for ringing <paramref name="vector"/> of peer
    /// <paramref name="peerId"/>, if it has arrived. Borrowed; it is closed when that peer leaves.</summary>
    public bool TryGetPeerEventFd(int peerId, int vector, out int fd)
    {
        lock (_gate)
        {
            if (TryFindLocked(peerId, vector, out SafeFileHandle? handle, out _)) { fd = (int)handle.DangerousGetHandle(); return true; }
        }
        fd = -1;
        return false;
    }

    /// <summary>The eventfd that rings <paramref name="vector"/> of peer <paramref name="peerId"/> now,
    /// if it has arrived and this peer is not disposed. The handle is closed when that peer leaves.</summary>
    internal bool TryGetDoorbell(int peerId, int vector, [NotNullWhen(true)] out DoorbellTarget? target)
    {
        lock (_gate)
        {
            target = !_disposed && TryFindLocked(peerId, vector, out SafeFileHandle? handle, out EventFdSignal? signal) ? new DoorbellTarget(handle, signal) : null;
            return target is not null;
        }
    }

    /// <summary>Under <see cref="_gate"/>: the handle and signal for <paramref name="vector"/> of peer
    /// <paramref name="peerId"/> (this peer's own included), if they have arrived.</summary>
    private bool TryFindLocked(int peerId, int vector, [NotNullWhen(true)] out SafeFileHandle? handle, [NotNullWhen(true)] out EventFdSignal? signal)
    {
        if (peerId == _ownId && (uint)vector < (uint)_own.Length) { handle = _own[vector]; signal = _ownSignals[vector]; return true; }
        if (_peers.TryGetValue(peerId, out PeerFds? p) && (uint)vector < (uint)p.Count) { handle = p.Fds[vector]!; signal = p.Signals[vector]!; return true; }
        handle = null;
        signal = null;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        if (_readerThread is not null)
        {
            new EventFdSignal(_stopFd).Ring();
            _readerThread.Join();
        }
        Interop.Close(_stopFd);
        _waiter?.Dispose();
        Interop.Close(_socket);
        lock (_gate)
        {
            foreach (PeerFds p in _peers.Values) p.Dispose();
            _peers.Clear();
        }
        foreach (SafeFileHandle h in _own) h?.Dispose();
        _mapping?.Dispose();
        _memoryFd?.Dispose();
    }

    /// <summary>The eventfds received for one other peer, vector 0 first.</summary>
    private sealed class PeerFds(int vectors)
    {
        public SafeFileHandle?[] Fds { get; } = new SafeFileHandle?[vectors];
        public EventFdSignal?[] Signals { get; } = new EventFdSignal?[vectors];
        public int Count { get; set; }

        public void Add(int fd)
        {
            Fds[Count] = new SafeFileHandle(fd, ownsHandle: true);
            Signals[Count] = new EventFdSignal(fd);
            Count++;
        }

        public void Dispose()
        {
            foreach (SafeFileHandle? h in Fds) h?.Dispose();
        }
    }
}
