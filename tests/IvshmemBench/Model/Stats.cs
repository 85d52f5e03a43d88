namespace Ivshmem.Bench.Model;

/// <summary>Order statistics of measured samples.</summary>
internal static class Stats
{
    public static (double Min, double Median, double Max) MinMedianMax(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0) throw new ArgumentException("no samples", nameof(samples));
        double[] sorted = [.. samples.Order()];
        return (sorted[0], Percentile(sorted, 50), sorted[^1]);
    }

    /// <summary>The <paramref name="p"/>-th percentile of already sorted samples (nearest rank).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) throw new ArgumentException("no samples", nameof(sorted));
        if (p >= 100) return sorted[^1];
        // Median of an even count: the mean of the two middle samples.
        if (p == 50 && sorted.Count % 2 == 0) return (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        int rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
