using System.Net;
using System.Net.Sockets;
using Ivshmem.Agent.Cli;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Measure;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Tests.Agent;

/// <summary>ping and bench, client and server, over a real ring and over loopback TCP.</summary>
public sealed class MeasureTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly AgentPair _agents = new();

    public void Dispose() => _agents.Dispose();

    private Task Serve(bool once, WaitMode mode = WaitMode.SpinThenBlock)
    {
        RingLink link = _agents.BToA(mode);
        return _agents.Start(() => MeasureServer.ServeRing(link, once, Timeout.InfiniteTimeSpan, _ => { }, _agents.Stopping));
    }

    [Fact]
    public async Task PingTimesEveryRoundTripAndSleepsOnTheDoorbell()
    {
        Task server = Serve(once: true, WaitMode.Block);
        Func<long> serverWakeups = AgentContext.Wakeups(_agents.B);
        long serverWakeupsBefore = serverWakeups();
        // The client pauses between pings, so the blocked server has always gone to sleep before the
        // next one: it can only see it through the doorbell. (Whether the client sleeps for its pong is
        // up to the scheduler: a loaded machine may run the server's reply before the client waits.)
        PingResult result = Ping.Run(_agents.AToB(WaitMode.Block), 50, 64, TimeSpan.FromMilliseconds(1), Limit, null, CancellationToken.None);

        await server.WaitAsync(Limit);
        Assert.Equal(50, result.RoundTripsUs.Count);
        Assert.All(result.RoundTripsUs, us => Assert.True(us > 0));
        Assert.True(result.Wakeups >= 0, "an eventfd endpoint counts its wake-ups");
        Assert.True(serverWakeups() - serverWakeupsBefore >= 25, $"a blocked server must be woken by the doorbell for (nearly) every ping; it was woken {serverWakeups() - serverWakeupsBefore} times for 50");
        Assert.Contains("ring round trip to 'vm-b' (id 11): 50 x 64 B", result.Summary("ring", "'vm-b' (id 11)"));
    }

    [Fact]
    public async Task OneServerAnswersClientsOneAfterTheOtherWhicheverStartsFirst()
    {
        // The first client opens (and sends its Hello) before the server exists; the second is a new
        // program (a new producer session) the server must follow.
        RingLink early = _agents.AToB();
        Task<PingResult> first = _agents.Start(() => Ping.Run(early, 5, 16, TimeSpan.Zero, Limit, null, _agents.Stopping));
        Task server = Serve(once: false);
        PingResult firstResult = await first.WaitAsync(Limit);
        PingResult second = Ping.Run(_agents.AToB(), 7, 16, TimeSpan.Zero, Limit, null, CancellationToken.None);
        BenchResult bench = Bench.Run(_agents.AToB(), 1 << 20, 4096, Limit, CancellationToken.None);

        Assert.Equal(5, firstResult.RoundTripsUs.Count);
        Assert.Equal(7, second.RoundTripsUs.Count);
        Assert.Equal(1 << 20, bench.Bytes);
        Assert.False(server.IsCompleted, "the server must keep serving");
    }

    [Fact]
    public async Task BenchMovesTheBytesBothWays()
    {
        Task server = Serve(once: true);
        BenchResult result = Bench.Run(_agents.AToB(), 8 << 20, 64 * 1024, Limit, CancellationToken.None, rounds: 3);

        await server.WaitAsync(Limit);
        Assert.Equal(8 << 20, result.Bytes);
        Assert.Equal(3, result.Uploads.Count);
        Assert.Equal(3, result.Downloads.Count);
        // The best round is the fastest, the median the middle of the three, whatever order they came in.
        TimeSpan[] up = [.. result.Uploads.Order()], down = [.. result.Downloads.Order()];
        Assert.Equal(result.Bytes / up[0].TotalSeconds, result.UploadRate);
        Assert.Equal(result.Bytes / up[1].TotalSeconds, result.UploadMedianRate);
        Assert.Equal(result.Bytes / down[0].TotalSeconds, result.DownloadRate);
        Assert.Equal(result.Bytes / down[1].TotalSeconds, result.DownloadMedianRate);
    }

    [Fact]
    public async Task ABenchChunkLargerThanTheRingAllowsIsCutToTheRingsMaximum()
    {
        Task server = Serve(once: true);
        RingLink link = _agents.AToB();
        BenchResult result = Bench.Run(link, 1 << 20, 16 << 20, Limit, CancellationToken.None);
        await server.WaitAsync(Limit);
        Assert.Equal(link.MaxPayload, result.Chunk);
    }

    [Fact]
    public void PingAndBenchRunOverTcpForComparison()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        string address = listener.LocalEndPoint!.ToString()!;
        Task server = _agents.Start(() => MeasureServer.ServeTcp(listener, once: false, _ => { }, _agents.Stopping));

        PingResult ping;
        using (TcpLink tcp = TcpLink.Connect(address, Limit, CancellationToken.None))
            ping = Ping.Run(tcp, 20, 64, TimeSpan.Zero, Limit, null, CancellationToken.None);
        BenchResult bench;
        using (TcpLink tcp = TcpLink.Connect(address, Limit, CancellationToken.None))
            bench = Bench.Run(tcp, 4 << 20, 256 * 1024, Limit, CancellationToken.None);

        Assert.Equal(20, ping.RoundTripsUs.Count);
        Assert.Equal(-1, ping.Wakeups);
        Assert.Equal(4 << 20, bench.Bytes);
        Assert.False(server.IsFaulted);
    }

    [Fact]
    public async Task AServerRefusesWhatItDoesNotServe()
    {
        Task server = Serve(once: true);
        RingLink link = _agents.AToB();
        // A forwarding session sent to a ping server is refused with the reason, not hung.
        var e = Assert.Throws<Ivshmem.Agent.Protocol.ProtocolException>(() =>
        {
            link.Send(Ivshmem.Agent.Protocol.MessageTypes.Hello, new Ivshmem.Agent.Protocol.HelloMessage(Ivshmem.Agent.Protocol.Operation.Forward, 5, -1, 0, "").Encode());
            Session.AwaitAccept(link, new byte[link.MaxPayload], 5, Limit, CancellationToken.None);
        });
        Assert.Contains("not forward", e.Message);
        await server.WaitAsync(Limit);
    }
}
