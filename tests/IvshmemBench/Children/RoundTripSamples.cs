using System.Diagnostics;
using Ivshmem.Bench.Model;

namespace Ivshmem.Bench.Children;

/// <summary>The round trips a ping child has timed over all its runs, and the reply to each run:
/// "done P50 P99 P999 MEAN ALLOCATED ROUND_P50 CPU_NS USER_US SYSTEM_US SLEEPS" (microseconds over
/// every run so far; bytes allocated in this run's timed loop; the p50 of this run alone; what the
/// ping thread used in this run's timed loop, <see cref="ThreadUsage"/>).</summary>
internal sealed class RoundTripSamples
{
    private readonly List<double> _all = [];

    public string Add(long[] ticks, long allocated, ThreadUsage used)
    {
        double[] round = [.. ticks.Select(t => t * 1e6 / Stopwatch.Frequency).Order()];
        _all.AddRange(round);
        double[] us = [.. _all.Order()];
        return FormattableString.Invariant(
            $"done {Stats.Percentile(us, 50):0.###} {Stats.Percentile(us, 99):0.###} {Stats.Percentile(us, 99.9):0.###} {us.Average():0.###} {allocated} {Stats.Percentile(round, 50):0.###} {used.Format()}");
    }
}
