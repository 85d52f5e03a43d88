using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ivshmem.Agent.Links;

/// <summary>
/// The agent's messages over a TCP connection, for comparing the ring with the network (ping and
/// bench with --tcp). Frame: length u32 | type i32 | payload, little-endian. Nagle is off, so a ping
/// is one segment; bulk data goes through a 256 KiB buffer.
/// </summary>
internal sealed class TcpLink : IMessageLink
{
    private const int HeaderSize = 8;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _output;
    private readonly byte[] _claim;
    private readonly byte[] _header = new byte[HeaderSize];

    private TcpLink(Socket socket, string label)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _output = new BufferedStream(_stream, 256 * 1024);
        _claim = new byte[MaxPayload];
        PeerLabel = label;
    }

    public string PeerLabel { get; }
    public string Transport => "tcp";
    public int MaxPayload => 1024 * 1024;
    public long Wakeups => -1;
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    public static TcpLink Connect(string hostPort, TimeSpan timeout, CancellationToken cancellationToken)
    {
        EndPoint endPoint = Addresses.ParseTcp(hostPort, defaultHost: null);
        var socket = new Socket(endPoint.AddressFamily == AddressFamily.Unspecified ? AddressFamily.InterNetwork : endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                socket.ConnectAsync(endPoint, cts.Token).AsTask().GetAwaiter().GetResult();
                return new TcpLink(socket, hostPort);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused && DateTime.UtcNow < deadline)
            {
                // The server may not listen yet (scripts start both sides at once): retry.
                socket.Dispose();
                socket = new Socket(socket.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                Thread.Sleep(100);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new TimeoutException($"could not connect to {hostPort} within {timeout.TotalSeconds:0} s");
            }
        }
    }

    /// <summary>Accepts one connection on <paramref name="listener"/>.</summary>
    public static TcpLink Accept(Socket listener, CancellationToken cancellationToken)
    {
        Socket socket = listener.AcceptAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
        return new TcpLink(socket, socket.RemoteEndPoint?.ToString() ?? "tcp peer");
    }

    public void Send(int type, ReadOnlySpan<byte> payload, CancellationToken cancellationToken = default)
    {
        WriteHeader(payload.Length, type);
        _output.Write(payload);
        _output.Flush();
    }

    public Span<byte> Claim(int length, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxPayload);
        return _claim.AsSpan(0, length);
    }

    public void Commit(int length, int type)
    {
        WriteHeader(length, type);
        _output.Write(_claim, 0, length);
    }

    public void Flush() => _output.Flush();

    public int Receive(Span<byte> buffer, out int type, CancellationToken cancellationToken = default)
    {
        _socket.ReceiveTimeout = StallTimeout == Timeout.InfiniteTimeSpan ? 0 : (int)Math.Min(int.MaxValue, StallTimeout.TotalMilliseconds);
        try
        {
            _stream.ReadExactly(_header);
            int length = BinaryPrimitives.ReadInt32LittleEndian(_header);
            type = BinaryPrimitives.ReadInt32LittleEndian(_header.AsSpan(4));
            if ((uint)length > (uint)MaxPayload || length > buffer.Length)
                throw new IOException($"{PeerLabel} sent a frame of {length} bytes; at most {Math.Min(MaxPayload, buffer.Length)} are allowed");
            _stream.ReadExactly(buffer[..length]);
            return length;
        }
        catch (EndOfStreamException)
        {
            throw new IOException($"{PeerLabel} closed the connection");
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut })
        {
            throw new TimeoutException($"nothing from {PeerLabel} for {StallTimeout.TotalSeconds:0} s");
        }
    }

    public (int Type, int Length) ReceiveFirst(Span<byte> buffer, Func<int, ReadOnlySpan<byte>, bool> accept, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        TimeSpan stall = StallTimeout;
        StallTimeout = timeout;
        try
        {
            while (true)
            {
                int length = Receive(buffer, out int type, cancellationToken);
                if (accept(type, buffer[..length])) return (type, length);
            }
        }
        finally
        {
            StallTimeout = stall;
        }
    }

    public void Dispose()
    {
        try { _output.Flush(); }
        catch (IOException) { /* the peer is gone; nothing left to say */ }
        _output.Dispose();
    }

    private void WriteHeader(int length, int type)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_header, length);
        BinaryPrimitives.WriteInt32LittleEndian(_header.AsSpan(4), type);
        _output.Write(_header);
    }
}
