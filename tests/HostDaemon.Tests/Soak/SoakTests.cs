using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;
using Xunit.Abstractions;

namespace Ivshmem.Daemon.Tests.Soak;

/// <summary>
/// The soak (docs/protocol.md, "Soak"): two host peers stream both ways through the region's rings with
/// every chunk checked, while the daemon is restarted through the fd store again and again (by turns
/// SIGTERM, as <c>systemctl restart</c> does, and SIGKILL, as a crash and Restart= do) and a third
/// peer joins and leaves in a loop. Nothing may be lost or corrupted, and the two streaming peers must
/// never notice a restart. The suite runs a short one; <c>scripts/soak SIZE</c> runs a long one
/// (IVSHMEM_SOAK_BYTES: the least each direction carries; IVSHMEM_SOAK_REPORT: where the JSON report
/// goes).
/// </summary>
public sealed class SoakTests(ITestOutputHelper output)
{
    private const int SIGTERM = 15, SIGKILL = 9;
    private const long DefaultBytes = 512L << 20;
    private const int MinimumRestarts = 3;
    private static readonly TimeSpan RestartEvery = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task StreamsBothWaysThroughDaemonRestartsAndPeerChurnWithoutLossOrCorruption()
    {
        long target = Environment.GetEnvironmentVariable("IVSHMEM_SOAK_BYTES") is { Length: > 0 } text
            ? long.Parse(text, CultureInfo.InvariantCulture) : DefaultBytes;
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("soak", size: "64M", maxPeers: 4));
        string socket = service.SocketOf("soak");
        using HostPeer a = HostPeer.Connect(socket, new HostPeerOptions { Name = "a" });
        using HostPeer b = HostPeer.Connect(socket, new HostPeerOptions { Name = "b" });
        Assert.True(a.WaitForPeer(b.OwnId, Eventually.DefaultTimeout));
        var options = new RingChannelOptions { Timeout = TimeSpan.FromMinutes(2) };
        using RingStream atA = a.OpenChannel("b", options).AsStream(), atB = b.OpenChannel("a", options).AsStream();

        // Writers stop once they have carried the target and the daemon has been restarted enough.
        int restarts = 0;
        bool Enough(long written) => written >= target && Volatile.Read(ref restarts) >= MinimumRestarts;
        var clock = Stopwatch.StartNew();
        var toB = new PatternStream(1);
        var toA = new PatternStream(2);
        Task<long> writeAB = Task.Run(() => toB.Write(atA, Enough)), writeBA = Task.Run(() => toA.Write(atB, Enough));
        Task<(long, long)> readAB = Task.Run(() => toB.Read(atB)), readBA = Task.Run(() => toA.Read(atA));

        using var stopChurn = new CancellationTokenSource();
        Task<(int Joins, int Refused, int ClosedInBacklog)> churn = Task.Run(() => Churn(socket, stopChurn.Token));
        int terms = 0, kills = 0;
        while (!writeAB.IsCompleted || !writeBA.IsCompleted)
        {
            await Task.Delay(RestartEvery);
            if (writeAB.IsCompleted && writeBA.IsCompleted) break;
            bool kill = (terms + kills) % 2 == 1;
            service.Process.Signal(kill ? SIGKILL : SIGTERM);
            service.Process.WaitForExit();
            service.StartProcess();
            if (kill) kills++; else terms++;
            Interlocked.Increment(ref restarts);
        }
        long sentAB = await writeAB, sentBA = await writeBA;
        (long gotAB, long badAB) = await readAB;
        (long gotBA, long badBA) = await readBA;
        TimeSpan elapsed = clock.Elapsed;
        stopChurn.Cancel();
        (int joins, int refused, int closedInBacklog) = await churn;

        var report = new SoakReport(target, sentAB, gotAB, badAB, sentBA, gotBA, badBA, terms, kills, joins, refused, closedInBacklog,
            Math.Round(elapsed.TotalSeconds, 1), Math.Round((gotAB + gotBA) / elapsed.TotalSeconds / 1e9, 2));
        string json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        output.WriteLine(json);
        if (Environment.GetEnvironmentVariable("IVSHMEM_SOAK_REPORT") is { Length: > 0 } reportPath) File.WriteAllText(reportPath, json + "\n");

        Assert.Equal((sentAB, 0L), (gotAB, badAB));
        Assert.Equal((sentBA, 0L), (gotBA, badBA));
        Assert.True(restarts >= MinimumRestarts, $"the daemon was restarted {restarts} times during the transfer");
        Assert.True(joins > 0, "the third peer joined and left meanwhile");
        Assert.True(a.IsServerConnected && b.IsServerConnected, "the streaming peers' connections were resumed each time");
        Assert.Empty(a.Problems);
        Assert.Empty(b.Problems);
    }

    /// <summary>A third peer joins and leaves until stopped; refusals while the daemon is down (no
    /// socket, or nobody accepting) are counted, not errors, and so are connections closed before the
    /// version message: those were in the listen backlog of the instance that stopped (docs/protocol.md,
    /// "Known limitations").</summary>
    private static (int Joins, int Refused, int ClosedInBacklog) Churn(string socket, CancellationToken stop)
    {
        int joins = 0, refused = 0, closedInBacklog = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using HostPeer p = HostPeer.Connect(socket, new HostPeerOptions { Name = "churn", TrackPeers = false, HandshakeTimeout = TimeSpan.FromSeconds(5) });
                joins++;
            }
            catch (HostPeerProtocolException e) when (e.Message.Contains("before the version message", StringComparison.Ordinal))
            {
                closedInBacklog++;
            }
            catch (Exception e) when (e is IOException or TimeoutException or ServerRefusedException or System.Net.Sockets.SocketException)
            {
                refused++;
                Thread.Sleep(50);
            }
        }
        return (joins, refused, closedInBacklog);
    }

    private sealed record SoakReport(long TargetBytesEachWay, long SentAToB, long ReceivedAToB, long BadChunksAToB,
        long SentBToA, long ReceivedBToA, long BadChunksBToA, int RestartsSigterm, int RestartsSigkill,
        int ChurnJoins, int ChurnRefusedWhileRestarting, int ChurnClosedInTheStoppingInstancesBacklog, double Seconds, double GigabytesPerSecondBothWays);
}
