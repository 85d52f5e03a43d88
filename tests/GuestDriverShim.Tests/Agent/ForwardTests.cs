using System.Net;
using System.Net.Sockets;
using Ivshmem.Agent.Cli;
using Ivshmem.Agent.Forwarding;
using Ivshmem.Agent.Links;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Tests.Agent;

/// <summary>
/// forward: real TCP sockets on loopback at both ends, a real ring between the two forwarders
/// (vm-a listens, vm-b connects to an echo server), several connections at once.
/// </summary>
public sealed class ForwardTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly TestRegion _region = new(size: 4 << 20);
    private readonly CancellationTokenSource _stop = new();
    private readonly Socket _echo;
    private readonly Socket _listener;
    private readonly Task _listening;
    private readonly Task _connecting;
    private readonly List<Task> _background = [];

    public ForwardTests()
    {
        TestEndpoint a = _region.Join(0, "vm-a");
        TestEndpoint b = _region.Join(1, "vm-b");
        _echo = StartEchoServer();
        RingLink connectSide = AgentContext.OpenLink(b, b.FindPeer("vm-a"), WaitMode.SpinThenBlock, Timeout.InfiniteTimeSpan);
        _connecting = Background.Start(_background, () => ForwardSession.Connect(connectSide, _echo.LocalEndPoint!, once: false, _ => { }, _stop.Token));
        _listener = ForwardSession.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        RingLink listenSide = AgentContext.OpenLink(a, a.FindPeer("vm-b"), WaitMode.SpinThenBlock, Timeout.InfiniteTimeSpan);
        _listening = Background.Start(_background, () => ForwardSession.Listen(listenSide, _listener, once: false, Limit, _ => { }, _stop.Token));
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _echo.Dispose();
        Background.Drain(_background);
        _region.Dispose();
    }

    private static Socket StartEchoServer()
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen(16);
        new Thread(() =>
        {
            try
            {
                while (true)
                {
                    Socket client = server.Accept();
                    new Thread(() =>
                    {
                        using (client)
                        {
                            byte[] buffer = new byte[8192];
                            int n;
                            while ((n = client.Receive(buffer)) > 0) client.Send(buffer, n, SocketFlags.None);
                            client.Shutdown(SocketShutdown.Send);
                        }
                    }) { IsBackground = true }.Start();
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { /* closed */ }
        }) { IsBackground = true }.Start();
        return server;
    }

    /// <summary>Connects through the forwarder, sends <paramref name="data"/>, half-closes, and
    /// returns everything read back until end of stream.</summary>
    private byte[] RoundTrip(byte[] data)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.ReceiveTimeout = (int)Limit.TotalMilliseconds;
        client.Connect(_listener.LocalEndPoint!);
        var reader = Task.Factory.StartNew(() =>
        {
            var received = new MemoryStream();
            byte[] buffer = new byte[65536];
            int n;
            while ((n = client.Receive(buffer)) > 0) received.Write(buffer, 0, n);
            return received.ToArray();
        }, TaskCreationOptions.LongRunning);
        for (int sent = 0; sent < data.Length;) sent += client.Send(data, sent, Math.Min(100_000, data.Length - sent), SocketFlags.None);
        client.Shutdown(SocketShutdown.Send);
        return reader.WaitAsync(Limit).GetAwaiter().GetResult();
    }

    [Fact]
    public void AConnectionIsCarriedBothWaysWithHalfClose()
    {
        byte[] data = new byte[3 << 20];  // many windows' worth
        new Random(3).NextBytes(data);
        Assert.Equal(data, RoundTrip(data));
    }

    [Fact]
    public async Task SeveralConnectionsShareTheRingAtOnce()
    {
        var runs = Enumerable.Range(1, 6).Select(i =>
        {
            byte[] data = new byte[i * 200_000];
            new Random(i).NextBytes(data);
            return Task.Factory.StartNew(() => (data, RoundTrip(data)), TaskCreationOptions.LongRunning);
        }).ToArray();

        foreach (var (sent, echoed) in await Task.WhenAll(runs).WaitAsync(Limit)) Assert.Equal(sent, echoed);
    }

    [Fact]
    public void AnEmptyConnectionEndsCleanly() => Assert.Empty(RoundTrip([]));
}

/// <summary>When the target cannot be reached, the client's connection is closed, not left hanging.</summary>
public sealed class ForwardToNowhereTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly AgentPair _agents = new();

    public void Dispose() => _agents.Dispose();

    [Fact]
    public void AConnectionToAClosedTargetIsReset()
    {
        // A port that was free a moment ago: nothing listens there.
        EndPoint nowhere;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            nowhere = probe.LocalEndPoint!;
        }
        RingLink connectSide = _agents.BToA(stallTimeout: Timeout.InfiniteTimeSpan);
        _agents.Start(() => ForwardSession.Connect(connectSide, nowhere, once: false, _ => { }, _agents.Stopping));
        using Socket listener = ForwardSession.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        RingLink listenSide = _agents.AToB(stallTimeout: Timeout.InfiniteTimeSpan);
        _agents.Start(() => ForwardSession.Listen(listenSide, listener, once: false, Limit, _ => { }, _agents.Stopping));

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.ReceiveTimeout = (int)Limit.TotalMilliseconds;
        client.Connect(listener.LocalEndPoint!);
        int n;
        try { n = client.Receive(new byte[16]); }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset) { n = 0; }
        Assert.Equal(0, n);
    }
}
