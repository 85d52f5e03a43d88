using System.Globalization;
using Ivshmem.Bench.Model;

namespace Ivshmem.Bench.Report;

/// <summary>One target, judged from one run's figures (docs/benchmarks/README.md, "Against the targets").</summary>
internal sealed record TargetCheck(string Target, bool? Met, string Measured);

/// <summary>The benchmark's targets, as ratios measured in the same run (absolute figures depend on the
/// machine); what each means and why: docs/benchmarks/README.md, "Against the targets".</summary>
internal static class Targets
{
    public static IReadOnlyList<TargetCheck> Evaluate(BenchResults results)
    {
        var checks = new List<TargetCheck>();
        IReadOnlyList<SizeRatios> ratios = Ratios.Throughput(results);

        var lead = ratios.Where(r => r.RingOverBestKernel is not null).ToList();
        if (lead.Count > 0)
        {
            SizeRatios worst = lead.MinBy(r => r.RingOverBestKernel!.Value)!;
            checks.Add(new TargetCheck("ring leads every kernel transport at every size",
                worst.RingOverBestKernel > 1, $"lowest ring / best kernel: {X(worst.RingOverBestKernel)} at {Sizes.Label(worst.SizeBytes)} (vs {worst.BestKernel})"));
        }
        var mid = lead.Where(r => r.SizeBytes >= 256L << 10).ToList();
        if (mid.Count > 0)
        {
            SizeRatios worst = mid.MinBy(r => r.RingOverBestKernel!.Value)!;
            checks.Add(new TargetCheck("ring >= 2x the best of uds/pipe/tcp from 256 KB",
                worst.RingOverBestKernel >= 2, $"lowest: {X(worst.RingOverBestKernel)} at {Sizes.Label(worst.SizeBytes)} (vs {worst.BestKernel})"));
        }
        var big = lead.Where(r => r.SizeBytes >= 2L << 20).ToList();
        if (big.Count > 0)
        {
            SizeRatios worst = big.MinBy(r => r.RingOverBestKernel!.Value)!;
            checks.Add(new TargetCheck("ring >= 4x the best of uds/pipe/tcp at 2 MB and above",
                worst.RingOverBestKernel >= 4, $"lowest: {X(worst.RingOverBestKernel)} at {Sizes.Label(worst.SizeBytes)} (vs {worst.BestKernel})"));
        }
        var large = ratios.Where(r => r.SizeBytes >= 100L << 20 && r.RingOverMemcpy is not null).ToList();
        if (large.Count > 0)
        {
            SizeRatios worst = large.MinBy(r => r.RingOverMemcpy!.Value)!;
            checks.Add(new TargetCheck("ring >= 1.0x single-thread memcpy from 100 MB",
                worst.RingOverMemcpy >= 1, $"lowest ring / memcpy: {X(worst.RingOverMemcpy)} at {Sizes.Label(worst.SizeBytes)}" +
                    (worst.PipelineOverMemcpy is double p ? $" (two cores copying in and out, nothing else: {X(p)})" : "")));
            var zc = large.Where(r => r.ZeroCopyOverMemcpy is not null).ToList();
            if (zc.Count > 0)
            {
                SizeRatios worstZc = zc.MinBy(r => r.ZeroCopyOverMemcpy!.Value)!;
                bool closer = zc.All(r => r.ZeroCopyOverMemcpy >= r.RingOverMemcpy);
                checks.Add(new TargetCheck("zero-copy closer to memcpy than the copying ring, from 100 MB",
                    closer, $"lowest zero-copy / memcpy: {X(worstZc.ZeroCopyOverMemcpy)} at {Sizes.Label(worstZc.SizeBytes)}; closer than the ring at {zc.Count(r => r.ZeroCopyOverMemcpy >= r.RingOverMemcpy)} of {zc.Count} sizes"));
            }
        }
        LatencyResult? busy = results.Latency.FirstOrDefault(l => l.Transport == "ring" && l.Mode == "busy-poll");
        if (busy is not null)
            checks.Add(new TargetCheck("64-byte round trip, busy-poll: p50 < 1.5 us", busy.P50Us < 1.5, F($"p50 {busy.P50Us:0.00} us")));
        if (Ratios.SpinThenBlockOverBusyPoll(results) is double spin)
            checks.Add(new TargetCheck("spin-then-block p50 within 2x of busy-poll (peer active)", spin <= 2, F($"{spin:0.00}x")));
        LatencyResult? pipe = results.Latency.FirstOrDefault(l => l.Transport == "pipe");
        LatencyResult? block = results.Latency.FirstOrDefault(l => l.Transport == "ring" && l.Mode == "block");
        LatencyResult? spinning = results.Latency.FirstOrDefault(l => l.Transport == "ring" && l.Mode == "spin-then-block");
        if (pipe is not null && block is not null)
            checks.Add(new TargetCheck("64-byte round trip, block: p50 no slower than a pipe's", block.P50Us <= pipe.P50Us,
                F($"p50 {block.P50Us:0.00} us, pipe {pipe.P50Us:0.00} us ({block.P50Us / pipe.P50Us:0.00}x)")));
        if (pipe is not null && spinning is not null)
            checks.Add(new TargetCheck("spin-then-block p99 no worse than a pipe's p99", spinning.P99Us <= pipe.P99Us,
                F($"p99 {spinning.P99Us:0.00} us, pipe {pipe.P99Us:0.00} us")));
        IdleCpuResult? idle = results.IdleCpu.FirstOrDefault(i => i.Mode == "spin-then-block");
        if (idle is not null)
            checks.Add(new TargetCheck("no CPU burned while idle (spin-then-block)", idle.CpuPercent < 1, F($"{idle.CpuPercent:0.##}% of a CPU over {idle.Seconds:0.#} s idle")));
        RateResult? batched = results.Rates.FirstOrDefault(r => r.Mode == "batched");
        if (batched is not null)
            checks.Add(new TargetCheck(">= 20 million 64-byte messages/s with batching", batched.Median >= 20, F($"{batched.Median:0.0} million/s")));
        return checks;
    }

    private static string X(double? ratio) => ratio is double r ? r.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "n/a";

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
