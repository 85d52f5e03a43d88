using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Ivshmem.Agent.Protocol;

namespace Ivshmem.Agent.Forwarding;

/// <summary>One forwarded socket connection: a socket-to-ring pump limited by credit, and a
/// ring-to-socket pump that returns credit after each write (see <see cref="Forwarder"/>).</summary>
internal sealed class Connection
{
    private readonly Forwarder _owner;
    private readonly uint _id;
    /// <summary>Bytes from the ring for the socket, in arrays rented from the shared pool (returned once
    /// written); a segment without an array is the peer's end of stream.</summary>
    private readonly BlockingCollection<ArraySegment<byte>> _toSocket = new();
    private readonly object _creditLock = new();
    private Socket? _socket;
    private int _credit = Forwarder.Window;
    private int _aborted;
    private int _halvesDone;
    private readonly List<Thread> _threads = [];
    private bool _joined;
    private readonly CancellationTokenSource _connecting = new();

    public Connection(Forwarder owner, uint id, Socket? socket)
    {
        _owner = owner;
        _id = id;
        _socket = socket;
    }

    /// <summary>Starts the two pumps (the listening side, once accepted).</summary>
    public void Start() =>
        StartThreads(new Thread(SocketToRing) { IsBackground = true, Name = $"forward {_id} socket->ring" },
                     new Thread(RingToSocket) { IsBackground = true, Name = $"forward {_id} ring->socket" });

    /// <summary>The connecting side: connects to <paramref name="target"/> on its own thread, then starts the pumps.</summary>
    public void StartConnecting(EndPoint target) =>
        StartThreads(new Thread(() => ConnectAndStart(target)) { IsBackground = true, Name = $"forward {_id} connect" });

    /// <summary>Waits for every thread of this connection (after <see cref="Abort"/> they end
    /// promptly); no thread is started afterwards.</summary>
    public void Join()
    {
        Thread[] threads;
        lock (_threads)
        {
            _joined = true;
            threads = [.. _threads];
        }
        foreach (Thread t in threads) t.Join();
    }

    private void StartThreads(params Thread[] threads)
    {
        lock (_threads)
        {
            if (_joined) return;
            _threads.AddRange(threads);
            foreach (Thread t in threads) t.Start();
        }
    }

    private void ConnectAndStart(EndPoint target)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, target is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_connecting.Token);
            cts.CancelAfter(TimeSpan.FromSeconds(10));
            socket.ConnectAsync(target, cts.Token).AsTask().GetAwaiter().GetResult();
            if (socket.ProtocolType == ProtocolType.Tcp) socket.NoDelay = true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            string why = e is OperationCanceledException ? "timed out" : e.Message;
            _owner.Log($"connection {_id}: cannot connect to {target}: {why}");
            Abort($"cannot connect to {target}: {why}", tellPeer: true);
            return;
        }
        _socket = socket;
        if (Volatile.Read(ref _aborted) != 0) { socket.Dispose(); return; }
        _owner.Log($"connection {_id}: connected to {target}");
        Start();
    }

    /// <summary>Bytes from the ring for the socket, copied out of the forwarder's receive buffer (which
    /// its reading thread reuses for the next message) into a pooled array: no allocation per message.</summary>
    public void Deliver(ReadOnlySpan<byte> data)
    {
        byte[] copy = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(copy);
        Enqueue(new ArraySegment<byte>(copy, 0, data.Length));
    }

    /// <summary>The peer's socket reached end of stream.</summary>
    public void DeliverEndOfStream() => Enqueue(default);

    private void Enqueue(ArraySegment<byte> item)
    {
        try { _toSocket.Add(item); }
        catch (InvalidOperationException) { /* aborted: dropped */ }
    }

    public void AddCredit(int bytes)
    {
        lock (_creditLock)
        {
            _credit += bytes;
            Monitor.PulseAll(_creditLock);
        }
    }

    /// <summary>Ends the connection at once (idempotent); tells the peer unless it told us.</summary>
    public void Abort(string why, bool tellPeer)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0) return;
        if (tellPeer)
        {
            try { _owner.Send(MessageTypes.FwdReset, ForwardMessages.Reset(_id, why)); }
            catch (Exception e) when (e is IOException or TimeoutException or OperationCanceledException or Ring.IvshmemException) { /* forwarding is ending anyway */ }
        }
        _toSocket.CompleteAdding();
        _connecting.Cancel();
        lock (_creditLock) Monitor.PulseAll(_creditLock);
        try { _socket?.Close(); }
        catch (ObjectDisposedException) { /* closed already */ }
        _owner.Remove(_id);
    }

    private void SocketToRing()
    {
        byte[] buffer = new byte[_owner.Chunk];
        try
        {
            while (Volatile.Read(ref _aborted) == 0)
            {
                int allowed;
                lock (_creditLock)
                {
                    while (_credit == 0 && Volatile.Read(ref _aborted) == 0) Monitor.Wait(_creditLock);
                    allowed = Math.Min(_credit, buffer.Length);
                }
                if (allowed == 0) return;
                int n = _socket!.Receive(buffer, 0, allowed, SocketFlags.None);
                if (n == 0)
                {
                    _owner.Send(MessageTypes.FwdEof, ForwardMessages.Id(_id));
                    HalfDone();
                    return;
                }
                lock (_creditLock) _credit -= n;
                _owner.SendData(_id, buffer.AsSpan(0, n));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Abort($"socket error: {e.Message}", tellPeer: true);
        }
        catch (Exception e) when (e is IOException or TimeoutException or OperationCanceledException or Ring.IvshmemException)
        {
            _owner.Fail(e);
            Abort("the ring failed", tellPeer: false);
        }
    }

    private void RingToSocket()
    {
        Span<byte> credit = stackalloc byte[ForwardMessages.CreditSize];
        try
        {
            foreach (ArraySegment<byte> data in _toSocket.GetConsumingEnumerable())
            {
                if (data.Array is null)
                {
                    _socket!.Shutdown(SocketShutdown.Send);
                    HalfDone();
                    return;
                }
                for (int sent = 0; sent < data.Count;) sent += _socket!.Send(data.Array, sent, data.Count - sent, SocketFlags.None);
                ArrayPool<byte>.Shared.Return(data.Array);
                _owner.Send(MessageTypes.FwdCredit, ForwardMessages.Credit(_id, data.Count, credit));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Abort($"socket error: {e.Message}", tellPeer: true);
        }
        catch (Exception e) when (e is IOException or TimeoutException or OperationCanceledException or Ring.IvshmemException)
        {
            _owner.Fail(e);
            Abort("the ring failed", tellPeer: false);
        }
    }

    /// <summary>Both directions reached end of stream: the connection is over.</summary>
    private void HalfDone()
    {
        if (Interlocked.Increment(ref _halvesDone) < 2) return;
        if (Interlocked.Exchange(ref _aborted, 1) != 0) return;
        _toSocket.CompleteAdding();
        try { _socket?.Close(); }
        catch (ObjectDisposedException) { /* closed already */ }
        _owner.Remove(_id);
    }
}
