using System.Globalization;
using Ivshmem.Bench.Model;
using Ivshmem.Bench.Ring;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// Round trips of 64-byte messages: the ring in each wait mode (both ends in the same mode), then
/// the three kernel transports with ordinary blocking reads. For each ring mode the echoing side is
/// also left without messages for a while, and the CPU it burns meanwhile is measured.
/// </summary>
internal sealed class LatencyRun(BenchOptions options, IRegionSource regions, Pinning pinning, Action<string> progress)
{
    private static readonly (WaitMode Mode, string Name)[] RingModes =
    [
        (WaitMode.BusyPoll, "busy-poll"),
        (WaitMode.Block, "block"),
        (WaitMode.SpinThenBlock, "spin-then-block"),
    ];

    public void Run(BenchResults results)
    {
        int samples = options.LatencySamples;
        int warmup = Math.Max(1000, samples / 10);
        if (options.Transports.Contains(Transport.Ring) || options.Transports.Contains(Transport.RingZeroCopy))
        {
            foreach (var (mode, name) in RingModes)
            {
                using RegionPairing pairing = regions.Pair();
                var values = new Dictionary<string, string> { ["transport"] = "ring", ["mode"] = mode.ToString() };
                Measure(results, "ring", name, pairing.A, pairing.B, values, samples, warmup, idle: true);
            }
        }
        foreach (Transport t in TransportNames.Kernel.Where(options.Transports.Contains))
        {
            using KernelPair pair = KernelPair.ForRoundTrips(t);
            Measure(results, t.Name(), "blocking", pair.A, pair.B, new Dictionary<string, string> { ["transport"] = t.Name() }, samples, warmup, idle: false);
        }
    }

    private void Measure(BenchResults results, string transport, string mode, ChildEndpointArgs a, ChildEndpointArgs b,
        Dictionary<string, string> values, int samples, int warmup, bool idle)
    {
        using Child pong = Child.Start(new ChildSpec($"{transport} {mode} pong", "pong", b, values, pinning.ReceiverCpu));
        using Child ping = Child.Start(new ChildSpec($"{transport} {mode} ping", "ping", a, values, pinning.SenderCpu));
        string command = FormattableString.Invariant($"run {samples} {warmup}");
        pong.Send(command);
        ping.Send(command);
        string[] p = ping.Expect("done");
        string[] q = pong.Expect("done");
        var result = new LatencyResult(transport, mode, samples, D(p[1]), D(p[2]), D(p[3]), D(p[4]));
        results.Latency.Add(result);
        results.Allocations.Add(new AllocationResult($"latency: {transport} {mode} ping loop", long.Parse(p[5], CultureInfo.InvariantCulture), samples));
        string line = FormattableString.Invariant($"latency {transport} {mode}: p50 {result.P50Us:0.00} us, p99 {result.P99Us:0.00} us, p99.9 {result.P999Us:0.00} us");
        if (idle)
        {
            pong.Send(FormattableString.Invariant($"idle {options.IdleMs}"));
            double cpu = D(pong.Expect("idle")[1]);
            results.IdleCpu.Add(new IdleCpuResult(mode, options.IdleMs / 1000.0, cpu));
            line += FormattableString.Invariant($"; idle peer uses {cpu:0.#}% CPU");
        }
        progress(line);
        ping.Quit();
        pong.Quit();
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
