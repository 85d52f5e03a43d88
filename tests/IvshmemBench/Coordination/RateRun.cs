using System.Diagnostics;
using System.Globalization;
using Ivshmem.Bench.Model;
using Ivshmem.Bench.Ring;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// 64-byte messages one way through the ring, both ends busy-polling: one publish and one release per
/// message, then batched (many records per publish, released in batches). Three timed runs each,
/// after an untimed one; the median counts.
/// </summary>
internal sealed class RateRun(BenchOptions options, IRegionSource regions, Pinning pinning, Action<string> progress)
{
    private const int Runs = 3;

    public void Run(BenchResults results)
    {
        using RegionPairing pairing = regions.Pair();
        using Child sender = Child.Start(new ChildSpec("rate sender", "rate-send", pairing.A, new Dictionary<string, string>(), pinning.SenderCpu));
        using Child receiver = Child.Start(new ChildSpec("rate receiver", "rate-recv", pairing.B, new Dictionary<string, string>(), pinning.ReceiverCpu));
        foreach (var (mode, batch) in new[] { ("unbatched", 1), ("batched", options.Batch) })
        {
            Rate(sender, receiver, Math.Max(1, options.Messages / 10), batch);
            var rates = new List<double>();
            long allocated = 0;
            for (int i = 0; i < Runs; i++)
            {
                var (seconds, bytes) = Rate(sender, receiver, options.Messages, batch);
                rates.Add(options.Messages / seconds / 1e6);
                allocated += bytes;
            }
            var result = new RateResult(mode, batch, options.Messages, rates);
            results.Rates.Add(result);
            results.Allocations.Add(new AllocationResult($"message rate: {mode} sender and receiver loops", allocated, options.Messages * Runs));
            progress(FormattableString.Invariant($"message rate {mode} (batch {batch}): {result.Median:0.00} million 64-byte messages/s (median of {Runs})"));
        }
        sender.Quit();
        receiver.Quit();
    }

    private static (double Seconds, long Allocated) Rate(Child sender, Child receiver, long messages, int batch)
    {
        string command = FormattableString.Invariant($"run {messages} {batch}");
        receiver.Send(command);
        receiver.Expect("ready");
        sender.Send(command);
        string[] s = sender.Expect("done");
        string[] r = receiver.Expect("done");
        long ticks = long.Parse(r[1], CultureInfo.InvariantCulture) - long.Parse(s[1], CultureInfo.InvariantCulture);
        return (ticks / (double)Stopwatch.Frequency, long.Parse(s[2], CultureInfo.InvariantCulture) + long.Parse(r[2], CultureInfo.InvariantCulture));
    }
}
