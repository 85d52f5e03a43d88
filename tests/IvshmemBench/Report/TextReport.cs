using System.Globalization;
using System.Text;
using Ivshmem.Bench.Model;

namespace Ivshmem.Bench.Report;

/// <summary>The run as tables: on the terminal (aligned text) and as Markdown for docs/benchmarks.</summary>
internal static class TextReport
{
    public static string Render(BenchResults results, bool markdown)
    {
        var sb = new StringBuilder();
        void Heading(string text)
        {
            sb.AppendLine();
            sb.AppendLine(markdown ? $"## {text}" : text);
            if (markdown) sb.AppendLine();
        }
        string T(Table t) => markdown ? t.ToMarkdown() : t.ToText();

        sb.AppendLine(markdown ? "# ivshmem-bench results" : "ivshmem-bench results");
        if (markdown) sb.AppendLine();
        sb.AppendLine($"{(markdown ? "- " : "")}Machine: {results.Machine.Describe()}");
        foreach (var (key, value) in results.Settings) sb.AppendLine($"{(markdown ? "- " : "")}{key}: {value}");
        sb.AppendLine($"{(markdown ? "- " : "")}Started {results.Started:yyyy-MM-dd HH:mm} UTC, took {results.Elapsed.TotalMinutes:0.0} min");

        if (results.Throughput.Count > 0)
        {
            Heading("Throughput, Mbit/s: median of the timed transfers (ours), mean of 20 (paper, Table V)");
            sb.Append(T(ThroughputTable(results)));
            Heading("Ratios of medians, same run");
            sb.Append(T(RatioTable(results)));
        }
        if (results.Latency.Count > 0)
        {
            Heading("Round trip of a 64-byte message, microseconds");
            var t = new Table("transport", "wait", "p50", "p99", "p99.9", "mean", "samples");
            foreach (LatencyResult l in results.Latency)
                t.Add(l.Transport, l.Mode, F(l.P50Us, "0.00"), F(l.P99Us, "0.00"), F(l.P999Us, "0.00"), F(l.MeanUs, "0.00"), l.Samples.ToString("N0", CultureInfo.InvariantCulture));
            sb.Append(T(t));
            Heading("CPU per round trip, microseconds: ping / pong (user and system: as the kernel samples them)");
            var c = new Table("transport", "wait", "CPU", "user", "system", "sleeps", "mean round trip");
            foreach (LatencyResult l in results.Latency)
            {
                if (l.Cpu is not { } cpu) continue;
                c.Add(l.Transport, l.Mode, Pair(cpu.Ping.CpuUs, cpu.Pong.CpuUs), Pair(cpu.Ping.UserUs, cpu.Pong.UserUs),
                    Pair(cpu.Ping.SystemUs, cpu.Pong.SystemUs), Pair(cpu.Ping.Sleeps, cpu.Pong.Sleeps), F(l.MeanUs, "0.00"));
            }
            sb.Append(T(c));
        }
        if (results.IdleCpu.Count > 0)
        {
            Heading("CPU of a ring peer waiting with nothing to receive");
            var t = new Table("wait", "CPU %", "seconds idle");
            foreach (IdleCpuResult i in results.IdleCpu) t.Add(i.Mode, F(i.CpuPercent, "0.0"), F(i.Seconds, "0.0"));
            sb.Append(T(t));
        }
        if (results.Rates.Count > 0)
        {
            Heading("64-byte messages through the ring, one way, both ends busy-polling");
            var t = new Table("mode", "records per publish/release", "million msg/s (median)", "runs");
            foreach (RateResult r in results.Rates)
                t.Add(r.Mode, r.Batch.ToString(CultureInfo.InvariantCulture), F(r.Median, "0.00"), string.Join(" ", r.MillionPerSecond.Select(x => F(x, "0.00"))));
            sb.Append(T(t));
        }
        if (results.Allocations.Count > 0)
        {
            Heading("Managed allocations in the timed loops (GC.GetAllocatedBytesForCurrentThread)");
            var t = new Table("loop", "bytes", "operations", "bytes per operation");
            foreach (AllocationResult a in results.Allocations)
                t.Add(a.Loop, a.Bytes.ToString("N0", CultureInfo.InvariantCulture), a.Operations.ToString("N0", CultureInfo.InvariantCulture),
                    a.Operations == 0 ? "-" : F(a.Bytes / (double)a.Operations, "0.###"));
            sb.Append(T(t));
        }
        IReadOnlyList<TargetCheck> targets = Targets.Evaluate(results);
        if (targets.Count > 0)
        {
            Heading("Targets (what each means: docs/benchmarks/README.md, \"Against the targets\")");
            var t = new Table("target", "met", "measured");
            foreach (TargetCheck c in targets) t.Add(c.Target, c.Met switch { true => "yes", false => "NO", null => "-" }, c.Measured);
            sb.Append(T(t));
        }
        return sb.ToString();
    }

    private static Table ThroughputTable(BenchResults results)
    {
        Transport[] transports = [.. TransportNames.All.Where(t => results.Throughput.Any(r => r.Transport == t))];
        var t = new Table([
            "size", .. transports.Select(x => x.Name()), "paper uds", "paper shm", "paper pipes", "repeats"]);
        foreach (long size in results.Throughput.Select(r => r.SizeBytes).Distinct().Order())
        {
            PaperRow? paper = PaperFigures.At(size);
            t.Add([
                Sizes.Label(size),
                .. transports.Select(x => results.Find(x, size) is { } r ? F(r.Median, "N0") : "-"),
                paper is null ? "-" : F(paper.UdsMbps, "N0"),
                paper is null ? "-" : F(paper.SharedMemoryMbps, "N0"),
                paper is null ? "-" : F(paper.PipesMbps, "N0"),
                results.Throughput.First(r => r.SizeBytes == size).Mbps.Count.ToString(CultureInfo.InvariantCulture)]);
        }
        return t;
    }

    private static Table RatioTable(BenchResults results)
    {
        var t = new Table("size", "best kernel", "ring / best kernel", "zero-copy / best kernel", "ring / memcpy", "zero-copy / memcpy", "copy-pipeline / memcpy", "ring / copy-pipeline");
        foreach (SizeRatios r in Ratios.Throughput(results))
            t.Add(Sizes.Label(r.SizeBytes), r.BestKernel ?? "-", X(r.RingOverBestKernel), X(r.ZeroCopyOverBestKernel), X(r.RingOverMemcpy), X(r.ZeroCopyOverMemcpy),
                X(r.PipelineOverMemcpy), X(r.RingOverPipeline));
        return t;
    }

    private static string X(double? ratio) => ratio is double r ? F(r, "0.00") + "x" : "-";

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Pair(double ping, double pong) => $"{F(ping, "0.00")} / {F(pong, "0.00")}";
}
