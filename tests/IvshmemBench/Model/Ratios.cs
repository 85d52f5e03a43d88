namespace Ivshmem.Bench.Model;

/// <summary>The ring against the others at one size, from medians measured in the same run.</summary>
/// <param name="PipelineOverMemcpy">The two-core copy pipeline (no ring, no checks) over one memcpy:
/// what any transport that copies in and out could reach against the memcpy target.</param>
/// <param name="RingOverPipeline">The copying ring over that pipeline: how much of the two cores'
/// copying the ring keeps.</param>
internal sealed record SizeRatios(long SizeBytes, string? BestKernel, double? RingOverBestKernel, double? ZeroCopyOverBestKernel, double? RingOverMemcpy, double? ZeroCopyOverMemcpy,
    double? PipelineOverMemcpy = null, double? RingOverPipeline = null);

internal static class Ratios
{
    public static IReadOnlyList<SizeRatios> Throughput(BenchResults results)
    {
        var list = new List<SizeRatios>();
        foreach (long size in results.Throughput.Select(r => r.SizeBytes).Distinct().Order())
        {
            ThroughputResult? ring = results.Find(Transport.Ring, size);
            ThroughputResult? zeroCopy = results.Find(Transport.RingZeroCopy, size);
            ThroughputResult? memcpy = results.Find(Transport.Memcpy, size);
            ThroughputResult? pipeline = results.Find(Transport.CopyPipeline, size);
            ThroughputResult? best = TransportNames.Kernel
                .Select(t => results.Find(t, size))
                .Where(r => r is not null)
                .MaxBy(r => r!.Median);
            list.Add(new SizeRatios(size, best?.Transport.Name(),
                Over(ring, best), Over(zeroCopy, best), Over(ring, memcpy), Over(zeroCopy, memcpy), Over(pipeline, memcpy), Over(ring, pipeline)));
        }
        return list;
    }

    /// <summary>p50 of spin-then-block over p50 of busy-poll (the target: at most 2).</summary>
    public static double? SpinThenBlockOverBusyPoll(BenchResults results)
    {
        LatencyResult? busy = results.Latency.FirstOrDefault(l => l.Transport == "ring" && l.Mode == "busy-poll");
        LatencyResult? spin = results.Latency.FirstOrDefault(l => l.Transport == "ring" && l.Mode == "spin-then-block");
        return busy is null || spin is null ? null : spin.P50Us / busy.P50Us;
    }

    private static double? Over(ThroughputResult? a, ThroughputResult? b) => a is null || b is null ? null : a.Median / b.Median;
}
