using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;

namespace Ivshmem.Agent.Forwarding;

/// <summary>
/// Carries socket connections over one ring conversation, several at a time. Each connection has an
/// id (given by the listening side) and a window of <see cref="Window"/> bytes in each direction: a
/// side sends Data only while it holds credit, and the receiver returns credit once it has written
/// the bytes to its socket. So one slow connection never stalls the others, and the receiving side
/// never buffers more than one window per connection.
/// <para>Threads: the caller's thread reads the ring and dispatches (it never blocks on a socket);
/// each connection has a socket-to-ring thread and a ring-to-socket thread; sends to the ring are
/// serialised (one producer).</para>
/// </summary>
internal sealed class Forwarder : IDisposable
{
    public const int Window = 256 * 1024;

    private readonly RingLink _link;
    private readonly Lock _sendLock = new();
    private readonly ConcurrentDictionary<uint, Connection> _connections = new();
    private readonly ConcurrentBag<Connection> _all = [];
    private readonly EndPoint? _target;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly int _chunk;
    private Exception? _failure;

    /// <param name="target">Where the connecting side connects each forwarded connection; null on the listening side.</param>
    public Forwarder(RingLink link, EndPoint? target, Action<string> log)
    {
        _link = link;
        _target = target;
        _log = log;
        _chunk = Math.Min(64 * 1024, link.MaxPayload - 4);
    }

    public int ActiveConnections => _connections.Count;

    /// <summary>Starts forwarding a socket the listening side accepted.</summary>
    public void Accepted(Socket socket, uint id)
    {
        var connection = new Connection(this, id, socket);
        _connections[id] = connection;
        _all.Add(connection);
        Send(MessageTypes.FwdOpen, ForwardMessages.Id(id));
        connection.Start();
    }

    /// <summary>Reads the ring until the peer says Bye, fails, or <paramref name="cancellationToken"/>
    /// ends it; every connection is reset then.</summary>
    public void Run(ulong conversation, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        byte[] buffer = new byte[_link.MaxPayload];
        try
        {
            while (true)
            {
                int n;
                int type;
                try { n = _link.Receive(buffer, out type, linked.Token); }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw _failure ?? new IOException("forwarding stopped");
                }
                ReadOnlySpan<byte> message = buffer.AsSpan(0, n);
                switch (type)
                {
                    case MessageTypes.FwdOpen: Open(ForwardMessages.ConnectionOf(message)); break;
                    case MessageTypes.FwdData: Find(message)?.Deliver(message[4..]); break;
                    case MessageTypes.FwdEof: Find(message)?.DeliverEndOfStream(); break;
                    case MessageTypes.FwdCredit: Find(message)?.AddCredit(ForwardMessages.CreditOf(message)); break;
                    case MessageTypes.FwdReset: Find(message)?.Abort("the other side reset it: " + ForwardMessages.TextOf(message), tellPeer: false); break;
                    case MessageTypes.Bye when ConversationMessage.Conversation(message) == conversation: return;
                    default: throw new ProtocolException($"{_link.PeerLabel} sent {MessageTypes.Name(type)} while forwarding");
                }
            }
        }
        finally
        {
            foreach (Connection c in _connections.Values) c.Abort("forwarding ended", tellPeer: false);
        }
    }

    /// <summary>Says Bye, so the other side resets its connections and waits for the next client.</summary>
    public void SayBye(ulong conversation)
    {
        try { Send(MessageTypes.Bye, ConversationMessage.Encode(conversation)); }
        catch (Exception e) when (e is IOException or TimeoutException or Ring.IvshmemException) { /* the peer is gone anyway */ }
    }

    /// <summary>Ends every connection and waits for their threads: after this, nothing of this
    /// forwarder touches the ring (whose memory the caller may unmap next).</summary>
    public void Dispose()
    {
        _stop.Cancel();
        foreach (Connection c in _all) c.Abort("forwarding ended", tellPeer: false);
        foreach (Connection c in _all) c.Join();
        _stop.Dispose();
    }

    internal void Send(int type, ReadOnlySpan<byte> payload)
    {
        lock (_sendLock) _link.Send(type, payload, _stop.Token);
    }

    /// <summary>Sends Data for a connection: the id, then the bytes, in one record.</summary>
    internal void SendData(uint id, ReadOnlySpan<byte> data)
    {
        lock (_sendLock)
        {
            Span<byte> target = _link.Claim(4 + data.Length, _stop.Token);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(target, id);
            data.CopyTo(target[4..]);
            _link.Commit(4 + data.Length, MessageTypes.FwdData);
        }
    }

    /// <summary>A send to the ring failed: the whole forwarding is over (the run loop rethrows it).</summary>
    internal void Fail(Exception e)
    {
        Interlocked.CompareExchange(ref _failure, e, null);
        try { _stop.Cancel(); }
        catch (ObjectDisposedException) { /* already disposed */ }
    }

    internal int Chunk => _chunk;

    internal void Log(string message) => _log(message);

    internal void Remove(uint id) => _connections.TryRemove(id, out _);

    private Connection? Find(ReadOnlySpan<byte> message)
    {
        uint id = ForwardMessages.ConnectionOf(message);
        // Messages for a connection that is already gone (reset while they travelled) are dropped.
        return _connections.TryGetValue(id, out Connection? c) ? c : null;
    }

    /// <summary>The connecting side: the peer accepted a connection; connect to the target.</summary>
    private void Open(uint id)
    {
        if (_target is null) throw new ProtocolException($"{_link.PeerLabel} opened a connection, but this side is the listening side");
        var connection = new Connection(this, id, null);
        _connections[id] = connection;
        _all.Add(connection);
        connection.StartConnecting(_target);
    }
}
