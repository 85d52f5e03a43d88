using System.Net;
using System.Net.Sockets;
using Ivshmem.Bench.Model;
using Ivshmem.Bench.Native;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// The kernel transports' fds, made here and inherited by the two children: a socketpair for the UNIX
/// socket, a pipe (two for round trips), and a TCP connection over 127.0.0.1 (accepted here, so both
/// ends exist before the children start). Disposing closes this process's copies.
/// </summary>
internal sealed class KernelPair : IDisposable
{
    private readonly List<int> _fds = [];
    private readonly List<Socket> _sockets = [];

    private KernelPair() { }

    public ChildEndpointArgs A { get; private set; } = ChildEndpointArgs.None;
    public ChildEndpointArgs B { get; private set; } = ChildEndpointArgs.None;

    /// <summary>Fds for a one-way transfer from A to B (<c>fd</c>).</summary>
    public static KernelPair ForTransfer(Transport transport)
    {
        var pair = new KernelPair();
        (int a, int b) = transport switch
        {
            Transport.Uds => pair.Track(Posix.UnixStreamPair()),
            Transport.Pipe => Swap(pair.Track(Posix.Pipe())), // the sender writes, the receiver reads
            Transport.Tcp => pair.Tcp(noDelay: false),
            _ => throw new ArgumentOutOfRangeException(nameof(transport), $"{transport} is not a kernel transport"),
        };
        pair.A = Fds(("fd", a));
        pair.B = Fds(("fd", b));
        return pair;
    }

    /// <summary>Fds for round trips between A and B (<c>fd-in</c>, and <c>fd-out</c> for pipes).</summary>
    public static KernelPair ForRoundTrips(Transport transport)
    {
        var pair = new KernelPair();
        switch (transport)
        {
            case Transport.Pipe:
                var (r1, w1) = pair.Track(Posix.Pipe());
                var (r2, w2) = pair.Track(Posix.Pipe());
                pair.A = Fds(("fd-out", w1), ("fd-in", r2));
                pair.B = Fds(("fd-in", r1), ("fd-out", w2));
                break;
            case Transport.Uds or Transport.Tcp:
                var (a, b) = transport == Transport.Uds ? pair.Track(Posix.UnixStreamPair()) : pair.Tcp(noDelay: true);
                pair.A = Fds(("fd-in", a));
                pair.B = Fds(("fd-in", b));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(transport), $"{transport} is not a kernel transport");
        }
        return pair;
    }

    /// <summary>Two eventfds for the doorbell-only round trip (<see cref="Children.DoorbellRole"/>):
    /// A rings B's (<c>fd-out</c>) and sleeps on its own (<c>fd-in</c>), and B the other way.</summary>
    public static KernelPair ForDoorbells()
    {
        var pair = new KernelPair();
        int toB = pair.Track1(Posix.EventFd()), toA = pair.Track1(Posix.EventFd());
        pair.A = Fds(("fd-out", toB), ("fd-in", toA));
        pair.B = Fds(("fd-out", toA), ("fd-in", toB));
        return pair;
    }

    public void Dispose()
    {
        foreach (int fd in _fds) Posix.Close(fd);
        foreach (Socket s in _sockets) s.Dispose();
    }

    private int Track1(int fd)
    {
        _fds.Add(fd);
        return fd;
    }

    private (int, int) Track((int, int) fds)
    {
        _fds.Add(fds.Item1);
        _fds.Add(fds.Item2);
        return fds;
    }

    /// <summary>A TCP connection over loopback: (client end, accepted end). Nagle stays on for bulk
    /// transfers (the kernel's default) and is turned off for round trips, as latency-minded code does.</summary>
    private (int, int) Tcp(bool noDelay)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets.Add(client);
        client.Connect(listener.LocalEndPoint!);
        Socket server = listener.Accept();
        _sockets.Add(server);
        client.NoDelay = noDelay;
        server.NoDelay = noDelay;
        return ((int)client.SafeHandle.DangerousGetHandle(), (int)server.SafeHandle.DangerousGetHandle());
    }

    private static (int, int) Swap((int Read, int Write) pipe) => (pipe.Write, pipe.Read);

    private static ChildEndpointArgs Fds(params (string Key, int Fd)[] fds) =>
        new(new Dictionary<string, string>(), fds.ToDictionary(f => f.Key, f => f.Fd));
}
