namespace Ivshmem.Bench.Model;

/// <summary>Bandwidth of the timed transfers of one size over one transport.</summary>
internal sealed record ThroughputResult(Transport Transport, long SizeBytes, IReadOnlyList<double> Mbps)
{
    public double Min => Stats.MinMedianMax(Mbps).Min;
    public double Median => Stats.MinMedianMax(Mbps).Median;
    public double Max => Stats.MinMedianMax(Mbps).Max;
}

/// <summary>64-byte round trips over one transport in one wait mode.</summary>
internal sealed record LatencyResult(string Transport, string Mode, int Samples, double P50Us, double P99Us, double P999Us, double MeanUs)
{
    /// <summary>What each side used per timed round trip (absent where a child did not say).</summary>
    public RoundTripCpu? Cpu { get; init; }
}

/// <summary>Per round trip, for the side that sends first (ping) and the one that echoes (pong).</summary>
internal sealed record RoundTripCpu(SideUsage Ping, SideUsage Pong);

/// <summary>One side's CPU per round trip (exact), its user and system parts (sampled by the kernel,
/// scaled to the total), and how many times it went to sleep.</summary>
internal sealed record SideUsage(double CpuUs, double UserUs, double SystemUs, double Sleeps);

/// <summary>One-way 64-byte message rate through the ring.</summary>
internal sealed record RateResult(string Mode, int Batch, long Messages, IReadOnlyList<double> MillionPerSecond)
{
    public double Median => Stats.MinMedianMax(MillionPerSecond).Median;
}

/// <summary>CPU a ring peer uses while it waits for a message that does not come.</summary>
internal sealed record IdleCpuResult(string Mode, double Seconds, double CpuPercent);

/// <summary>Bytes allocated on the managed heap by a hot loop, over how many operations.</summary>
internal sealed record AllocationResult(string Loop, long Bytes, long Operations);

/// <summary>Everything one run measured, and how.</summary>
internal sealed class BenchResults
{
    public required MachineInfo Machine { get; init; }
    public required IReadOnlyDictionary<string, string> Settings { get; init; }
    public List<ThroughputResult> Throughput { get; } = [];
    public List<LatencyResult> Latency { get; } = [];
    public List<RateResult> Rates { get; } = [];
    public List<IdleCpuResult> IdleCpu { get; } = [];
    public List<AllocationResult> Allocations { get; } = [];
    public DateTimeOffset Started { get; init; } = DateTimeOffset.UtcNow;
    public TimeSpan Elapsed { get; set; }

    public ThroughputResult? Find(Transport transport, long size) =>
        Throughput.FirstOrDefault(r => r.Transport == transport && r.SizeBytes == size);
}
