using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Ivshmem.Agent.Cli;
using Ivshmem.Agent.Measure;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Tests.Agent;

/// <summary>
/// ping and bench --json: the host benchmark's shape (machine, throughput, latency, message_rate;
/// Mbit/s and microseconds), filled with what was measured, from the writer and through the command
/// line.
/// </summary>
public sealed class MeasureJsonTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly AgentPair _agents = new();

    public void Dispose() => _agents.Dispose();

    private Task ServeRing(WaitMode mode)
    {
        var link = _agents.BToA(mode);
        return _agents.Start(() => MeasureServer.ServeRing(link, once: true, Timeout.InfiniteTimeSpan, _ => { }, _agents.Stopping));
    }

    private string ServeTcp()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        _agents.Start(() =>
        {
            using (listener) MeasureServer.ServeTcp(listener, once: false, _ => { }, _agents.Stopping);
        });
        return listener.LocalEndPoint!.ToString()!;
    }

    private static (int Code, string Output, string Error) Run(params string[] args) => CommandLineTests.Run(args);

    /// <summary>The top level is the host benchmark's (plus the agent's settings), in its order.</summary>
    private static JsonElement AssertShape(JsonDocument document)
    {
        JsonElement root = document.RootElement;
        Assert.Equal(["machine", "settings", "throughput", "latency", "message_rate"], root.EnumerateObject().Select(p => p.Name));
        JsonElement machine = root.GetProperty("machine");
        Assert.False(string.IsNullOrEmpty(machine.GetProperty("cpu").GetString()));
        Assert.Equal(Environment.ProcessorCount, machine.GetProperty("cores").GetInt32());
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), machine.GetProperty("kernel").GetString());
        Assert.Contains(machine.GetProperty("virtual_machine").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        Assert.StartsWith(".NET ", machine.GetProperty("runtime").GetString());
        Assert.Equal(0, root.GetProperty("message_rate").GetArrayLength());
        return root;
    }

    /// <summary>One direction's entry: its identity, then rates consistent with the rounds' times.</summary>
    private static void AssertThroughput(JsonElement entry, string transport, string direction, string mode, long bytes, int chunk, IReadOnlyList<TimeSpan> rounds)
    {
        Assert.Equal(transport, entry.GetProperty("transport").GetString());
        Assert.Equal(direction, entry.GetProperty("direction").GetString());
        Assert.Equal(mode, entry.GetProperty("mode").GetString());
        Assert.Equal(bytes, entry.GetProperty("size_bytes").GetInt64());
        Assert.Equal(chunk, entry.GetProperty("chunk_bytes").GetInt32());
        Assert.Equal(rounds.Count, entry.GetProperty("repeats").GetInt32());
        JsonElement mbps = entry.GetProperty("mbps");
        double min = mbps.GetProperty("min").GetDouble(), median = mbps.GetProperty("median").GetDouble(), max = mbps.GetProperty("max").GetDouble();
        Assert.True(0 < min && min <= median && median <= max, $"min {min}, median {median}, max {max}");
        // Mbit/s (10^6 bit/s) of the best round, as the host benchmark counts: 8 x the text's MB/s.
        Assert.Equal(bytes * 8 / rounds.Min().TotalSeconds / 1e6, max, 0.06);
        Assert.Equal(bytes * 8 / rounds.Max().TotalSeconds / 1e6, min, 0.06);
        Assert.Equal(rounds.Count, entry.GetProperty("samples_mbps").GetArrayLength());
    }

    [Fact]
    public async Task ARingBenchIsTwoThroughputEntriesInMegabitsPerSecond()
    {
        Task server = ServeRing(WaitMode.SpinThenBlock);
        BenchResult result = Bench.Run(_agents.AToB(), 2 << 20, 16 * 1024, Limit, CancellationToken.None, rounds: 4);
        await server.WaitAsync(Limit);

        using JsonDocument document = JsonDocument.Parse(MeasureJson.Bench(AgentMachine.Collect(_agents.A), result, "ring", MeasureJson.ModeName("ring", WaitMode.SpinThenBlock), "'vm-b' (id 1)"));
        JsonElement root = AssertShape(document);
        JsonElement[] throughput = [.. root.GetProperty("throughput").EnumerateArray()];
        Assert.Equal(2, throughput.Length);
        AssertThroughput(throughput[0], "ring", "to-peer", "spin-then-block", 2 << 20, 16 * 1024, result.Uploads);
        AssertThroughput(throughput[1], "ring", "from-peer", "spin-then-block", 2 << 20, 16 * 1024, result.Downloads);
        Assert.Equal(result.UploadRate * 8 / 1e6, throughput[0].GetProperty("mbps").GetProperty("max").GetDouble(), 0.06);
        Assert.Equal(0, root.GetProperty("latency").GetArrayLength());
        Assert.Equal("'vm-b' (id 1)", root.GetProperty("settings").GetProperty("peer").GetString());
        Assert.Equal(result.Wakeups, root.GetProperty("settings").GetProperty("doorbell_interrupts").GetInt64());
    }

    [Fact]
    public async Task ARingPingIsOneLatencyEntryInMicroseconds()
    {
        Task server = ServeRing(WaitMode.Block);
        PingResult result = Ping.Run(_agents.AToB(WaitMode.Block), 40, 64, TimeSpan.Zero, Limit, null, CancellationToken.None);
        await server.WaitAsync(Limit);

        using JsonDocument document = JsonDocument.Parse(MeasureJson.Ping(AgentMachine.Collect(_agents.A), result, "ring", MeasureJson.ModeName("ring", WaitMode.Block), "vm-b"));
        JsonElement root = AssertShape(document);
        Assert.Equal(0, root.GetProperty("throughput").GetArrayLength());
        JsonElement latency = Assert.Single(root.GetProperty("latency").EnumerateArray());
        Assert.Equal("ring", latency.GetProperty("transport").GetString());
        Assert.Equal("block", latency.GetProperty("mode").GetString());
        Assert.Equal(40, latency.GetProperty("samples").GetInt32());
        Assert.Equal(64, latency.GetProperty("size_bytes").GetInt32());
        double p50 = latency.GetProperty("p50_us").GetDouble(), p99 = latency.GetProperty("p99_us").GetDouble(), p999 = latency.GetProperty("p999_us").GetDouble();
        // Nearest rank over the 40 samples: p50 is the 20th smallest, p99 (rank 39.6 -> 40) and p99.9 the largest.
        double[] sorted = [.. result.RoundTripsUs.Order()];
        Assert.True(p50 > 0, $"p50 {p50}");
        Assert.Equal(sorted[19], p50, 0.001);
        Assert.Equal(sorted[39], p99, 0.001);
        Assert.Equal(sorted[39], p999, 0.001);
        Assert.Null(root.GetProperty("machine").GetProperty("access").GetString());
    }

    [Fact]
    public void BenchJsonToStandardOutputLeavesTheSummaryOnStandardError()
    {
        string address = ServeTcp();
        var (code, output, error) = Run("bench", "--tcp", address, "--bytes", "1M", "--chunk", "64K", "--rounds", "3", "--json", "-");

        Assert.True(code == 0, error);
        using JsonDocument document = JsonDocument.Parse(output);
        JsonElement root = AssertShape(document);
        JsonElement[] throughput = [.. root.GetProperty("throughput").EnumerateArray()];
        Assert.Equal(["to-peer", "from-peer"], throughput.Select(t => t.GetProperty("direction").GetString()));
        foreach (JsonElement t in throughput)
        {
            Assert.Equal("tcp", t.GetProperty("transport").GetString());
            Assert.Equal("blocking", t.GetProperty("mode").GetString());
            Assert.Equal(1 << 20, t.GetProperty("size_bytes").GetInt64());
            Assert.Equal(64 << 10, t.GetProperty("chunk_bytes").GetInt32());
            Assert.Equal(3, t.GetProperty("repeats").GetInt32());
        }
        Assert.Equal(JsonValueKind.Null, root.GetProperty("machine").GetProperty("access").ValueKind);
        Assert.Contains("ivshmem-agent bench: tcp throughput with", error);
    }

    [Fact]
    public void PingJsonToAFileKeepsTheSummaryOnStandardOutput()
    {
        string address = ServeTcp();
        string file = Path.Combine(Path.GetTempPath(), $"ping-{Guid.NewGuid():N}.json");
        try
        {
            var (code, output, error) = Run("ping", "--tcp", address, "--count", "25", "--size", "128", "--json", file);

            Assert.True(code == 0, error);
            Assert.StartsWith("tcp round trip to", output);
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(file));
            JsonElement latency = Assert.Single(AssertShape(document).GetProperty("latency").EnumerateArray());
            Assert.Equal(25, latency.GetProperty("samples").GetInt32());
            Assert.Equal(128, latency.GetProperty("size_bytes").GetInt32());
            Assert.Equal("blocking", latency.GetProperty("mode").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--json goes with a client", "bench", "--serve", "--tcp-listen", "5201", "--json", "-")]
    [InlineData("--json /nonexistent/dir/x.json: no such directory", "ping", "--tcp", "127.0.0.1:1", "--json", "/nonexistent/dir/x.json")]
    public void JsonMisuseIsAUsageErrorBeforeAnythingRuns(string expected, params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Empty(output);
        Assert.Contains(expected, error);
    }
}
