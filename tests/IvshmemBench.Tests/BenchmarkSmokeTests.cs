using System.Text.Json;

namespace Ivshmem.Bench.Tests;

/// <summary>
/// Runs the real benchmark program, every transport, on the smallest setting, and checks that it wrote
/// a complete, well-formed JSON report. Speed is never asserted: these machines are shared and noisy.
/// </summary>
public sealed class BenchmarkSmokeTests : IDisposable
{
    private static readonly string[] Transports = ["ring", "ring-zero-copy", "uds", "pipe", "tcp", "memcpy", "copy-pipeline"];
    private readonly string _directory = Directory.CreateTempSubdirectory("ivshmem-bench-smoke-").FullName;

    [Fact]
    public void TinyRunWritesAReportWithEveryTransportLatencyModeAndMessageRate()
    {
        string outDir = Path.Combine(_directory, "out");
        var (exitCode, stdout, stderr) = BenchProcess.Run(
            "--sizes", "16K", "--repeat", "1", "--warmup", "1", "--region-size", "1M",
            "--latency-samples", "200", "--messages", "20000", "--idle-ms", "50", "--out", outDir);
        Assert.True(exitCode == 0, $"ivshmem-bench exited {exitCode}\n{stdout}\n{stderr}");

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        JsonElement root = json.RootElement;

        JsonElement machine = root.GetProperty("machine");
        Assert.False(string.IsNullOrWhiteSpace(machine.GetProperty("cpu").GetString()));
        Assert.True(machine.GetProperty("cores").GetInt32() >= 1);
        Assert.False(string.IsNullOrWhiteSpace(machine.GetProperty("kernel").GetString()));

        JsonElement[] throughput = [.. root.GetProperty("throughput").EnumerateArray()];
        Assert.Equal(Transports.Order(), throughput.Select(t => t.GetProperty("transport").GetString()).Order());
        foreach (JsonElement t in throughput)
        {
            Assert.Equal(16384, t.GetProperty("size_bytes").GetInt64());
            Assert.Equal(1, t.GetProperty("repeats").GetInt32());
            JsonElement mbps = t.GetProperty("mbps");
            double min = mbps.GetProperty("min").GetDouble(), median = mbps.GetProperty("median").GetDouble(), max = mbps.GetProperty("max").GetDouble();
            Assert.True(min > 0 && min <= median && median <= max, $"{t}: min/median/max out of order");
        }

        string[] latency = [.. root.GetProperty("latency").EnumerateArray().Select(l => $"{l.GetProperty("transport").GetString()}/{l.GetProperty("mode").GetString()}")];
        Assert.Equal(["ring/busy-poll", "ring/block", "ring/spin-then-block", "uds/blocking", "pipe/blocking", "tcp/blocking", "eventfd/epoll"], latency);
        foreach (JsonElement l in root.GetProperty("latency").EnumerateArray())
        {
            double p50 = l.GetProperty("p50_us").GetDouble(), p99 = l.GetProperty("p99_us").GetDouble(), p999 = l.GetProperty("p999_us").GetDouble();
            Assert.True(p50 > 0 && p50 <= p99 && p99 <= p999, $"{l}: percentiles out of order");
        }

        string[] rates = [.. root.GetProperty("message_rate").EnumerateArray().Select(r => r.GetProperty("mode").GetString()!)];
        Assert.Equal(["unbatched", "batched"], rates);
        Assert.All(root.GetProperty("message_rate").EnumerateArray(), r => Assert.True(r.GetProperty("million_per_s").GetDouble() > 0));

        JsonElement ratios = Assert.Single(root.GetProperty("ratios").GetProperty("throughput").EnumerateArray());
        // Written as numbers (rounded: one 16 KB transfer on a busy machine can round to 0.00).
        Assert.Equal(JsonValueKind.Number, ratios.GetProperty("copy_pipeline_over_memcpy").ValueKind);
        Assert.Equal(JsonValueKind.Number, ratios.GetProperty("ring_over_copy_pipeline").ValueKind);
        // Nothing per transfer, round trip or message: at most a ring process's one-time 40 bytes on its
        // first wait, while 200 round trips or 20,000 messages at even one object each would be kilobytes.
        JsonElement[] allocations = [.. root.GetProperty("allocations").EnumerateArray()];
        Assert.NotEmpty(allocations);
        Assert.All(allocations, a => Assert.True(a.GetProperty("bytes").GetInt64() <= 64, $"{a}: the timed loop allocated"));
        Assert.All(new[] { "table.txt", "table.md", "throughput.png", "throughput.svg" },
            f => Assert.True(new FileInfo(Path.Combine(outDir, f)).Length > 0, $"{f} is missing or empty"));
        Assert.Contains("paper uds", stdout);
        Assert.Contains("ivshmemd", root.GetProperty("settings").GetProperty("ring region").GetString());
    }

    [Fact]
    public void SelfProvisionedRegionCarriesBothRingTransports()
    {
        string json = Path.Combine(_directory, "self.json");
        var (exitCode, stdout, stderr) = BenchProcess.Run(
            "--region", "self", "--only", "throughput", "--transports", "ring,ring-zero-copy",
            "--sizes", "16K", "--repeat", "1", "--region-size", "1M", "--json", json);
        Assert.True(exitCode == 0, $"ivshmem-bench exited {exitCode}\n{stdout}\n{stderr}");

        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(["ring", "ring-zero-copy"], report.RootElement.GetProperty("throughput").EnumerateArray().Select(t => t.GetProperty("transport").GetString()));
        Assert.Contains("self-provisioned", report.RootElement.GetProperty("settings").GetProperty("ring region").GetString());
    }

    [Fact]
    public void UnknownOptionFailsWithAMessageAndExitCode2()
    {
        var (exitCode, _, stderr) = BenchProcess.Run("--no-such-option");
        Assert.Equal(2, exitCode);
        Assert.Contains("unknown option '--no-such-option'", stderr);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
