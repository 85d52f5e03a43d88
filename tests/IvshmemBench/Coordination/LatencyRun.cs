using System.Globalization;
using Ivshmem.Bench.Children;
using Ivshmem.Bench.Model;
using Ivshmem.Bench.Ring;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// Round trips of 64-byte messages: the ring in each wait mode (both ends in the same mode), the
/// three kernel transports with ordinary blocking reads, and the ring's doorbell alone (eventfd and
/// epoll, no message: <see cref="DoorbellRole"/>). Busy-poll runs alone first (its echoing side
/// burns a CPU while it waits, which would slow every other pair); the others take their samples in
/// rounds, in turn, so that load that comes and goes on a shared machine meets them all alike, and
/// the ring's block mode and a pipe are compared within minutes, not a run apart. For each ring mode
/// the echoing side is then left without messages for a while, and the CPU it burns is measured.
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
        bool ring = options.Transports.Contains(Transport.Ring) || options.Transports.Contains(Transport.RingZeroCopy);
        var resources = new List<IDisposable>();
        var pairs = new List<Pair>();
        try
        {
            if (ring)
            {
                foreach (var (mode, name) in RingModes)
                {
                    RegionPairing pairing = regions.Pair();
                    resources.Add(pairing);
                    var values = new Dictionary<string, string> { ["transport"] = "ring", ["mode"] = mode.ToString() };
                    pairs.Add(Pair.Start("ring", name, pairing.A, pairing.B, values, pinning, idle: true));
                    // Started one at a time: a busy-poll pair must not wait beside the others.
                    if (mode == WaitMode.BusyPoll) Measure(pairs[^1], results, rounds: 1);
                }
            }
            foreach (Transport t in TransportNames.Kernel.Where(options.Transports.Contains))
            {
                KernelPair pair = KernelPair.ForRoundTrips(t);
                resources.Add(pair);
                pairs.Add(Pair.Start(t.Name(), "blocking", pair.A, pair.B, new Dictionary<string, string> { ["transport"] = t.Name() }, pinning, idle: false));
            }
            if (ring)
            {
                // The ring's block-mode wake-up alone, for what the ring adds to it (docs/ring.md,
                // "The wake-up path").
                KernelPair doorbells = KernelPair.ForDoorbells();
                resources.Add(doorbells);
                pairs.Add(Pair.Start(DoorbellRole.TransportName, "epoll", doorbells.A, doorbells.B,
                    new Dictionary<string, string> { ["transport"] = DoorbellRole.TransportName }, pinning, idle: false));
            }
            Measure(pairs.Where(p => p.Mode != "busy-poll").ToList(), results, options.LatencyRounds);
        }
        finally
        {
            foreach (Pair p in pairs) p.Dispose();
            foreach (IDisposable r in resources) r.Dispose();
        }
    }

    private void Measure(Pair pair, BenchResults results, int rounds)
    {
        Measure([pair], results, rounds);
        pair.Dispose();
    }

    private void Measure(List<Pair> pairs, BenchResults results, int rounds)
    {
        int perRound = Math.Max(1, options.LatencySamples / rounds);
        int warmup = Math.Max(1000, perRound / 10);
        for (int round = 0; round < rounds; round++)
            foreach (Pair p in pairs) p.Run(perRound, warmup);
        foreach (Pair p in pairs) Report(p, results, perRound * rounds);
        if (rounds > 1) ReportBlockAgainstPipe(pairs);
    }

    private void Report(Pair p, BenchResults results, int samples)
    {
        string[] last = p.LastReply!;
        var result = new LatencyResult(p.Transport, p.Mode, samples, D(last[1]), D(last[2]), D(last[3]), D(last[4])) { Cpu = p.CpuPerRoundTrip() };
        results.Latency.Add(result);
        results.Allocations.Add(new AllocationResult($"latency: {p.Transport} {p.Mode} ping loop", p.MaxAllocated, p.SamplesPerRun));
        string line = FormattableString.Invariant($"latency {p.Transport} {p.Mode}: p50 {result.P50Us:0.00} us, p99 {result.P99Us:0.00} us, p99.9 {result.P999Us:0.00} us");
        if (p.RoundP50s.Count > 1)
            line += $" (p50 of each round: {string.Join(' ', p.RoundP50s.Select(v => v.ToString("0.00", CultureInfo.InvariantCulture)))})";
        if (result.Cpu is { } used)
            line += FormattableString.Invariant($"; CPU per round trip: ping {Side(used.Ping)}, pong {Side(used.Pong)}");
        if (p.Idle)
        {
            double cpu = p.MeasureIdle(options.IdleMs);
            results.IdleCpu.Add(new IdleCpuResult(p.Mode, options.IdleMs / 1000.0, cpu));
            line += FormattableString.Invariant($"; idle peer uses {cpu:0.#}% CPU");
        }
        progress(line);
    }

    /// <summary>The ratios that the interleaving is for, round by round: how the ring's block mode, and
    /// its doorbell alone, fared against a pipe under the same moment's load.</summary>
    private void ReportBlockAgainstPipe(List<Pair> pairs)
    {
        Pair? pipe = pairs.FirstOrDefault(p => p.Transport == "pipe");
        if (pipe is null) return;
        foreach (Pair? p in new[] { pairs.FirstOrDefault(p => p.Transport == "ring" && p.Mode == "block"), pairs.FirstOrDefault(p => p.Transport == DoorbellRole.TransportName) })
        {
            if (p is null) continue;
            double[] ratios = [.. p.RoundP50s.Zip(pipe.RoundP50s, (b, q) => b / q)];
            progress(FormattableString.Invariant(
                $"latency {p.Transport} {p.Mode} / pipe, p50 round by round: {string.Join(' ', ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}; no slower in {ratios.Count(r => r <= 1)} of {ratios.Length}"));
        }
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    private static string Side(SideUsage s) =>
        FormattableString.Invariant($"{s.CpuUs:0.00} us (user {s.UserUs:0.00}, system {s.SystemUs:0.00}), {s.Sleeps:0.00} sleeps");

    /// <summary>One ping and one pong child, kept for every round.</summary>
    private sealed class Pair : IDisposable
    {
        private Child? _ping, _pong;

        public required string Transport { get; init; }
        public required string Mode { get; init; }
        public required bool Idle { get; init; }
        public List<double> RoundP50s { get; } = [];
        public string[]? LastReply { get; private set; }
        public long MaxAllocated { get; private set; }
        public int SamplesPerRun { get; private set; }
        private ThreadUsage _pingUsed, _pongUsed;
        private long _timed;

        public static Pair Start(string transport, string mode, ChildEndpointArgs a, ChildEndpointArgs b,
            Dictionary<string, string> values, Pinning pinning, bool idle)
        {
            var pair = new Pair { Transport = transport, Mode = mode, Idle = idle };
            pair._pong = Child.Start(new ChildSpec($"{transport} {mode} pong", "pong", b, values, pinning.ReceiverCpu));
            pair._ping = Child.Start(new ChildSpec($"{transport} {mode} ping", "ping", a, values, pinning.SenderCpu));
            return pair;
        }

        public void Run(int samples, int warmup)
        {
            string command = FormattableString.Invariant($"run {samples} {warmup}");
            _pong!.Send(command);
            _ping!.Send(command);
            LastReply = _ping.Expect("done");
            string[] pong = _pong.Expect("done");
            MaxAllocated = Math.Max(MaxAllocated, long.Parse(LastReply[5], CultureInfo.InvariantCulture));
            SamplesPerRun = samples;
            RoundP50s.Add(D(LastReply[6]));
            _pingUsed += ThreadUsage.Parse(LastReply, 7);
            _pongUsed += ThreadUsage.Parse(pong, 2);
            _timed += samples;
        }

        public RoundTripCpu? CpuPerRoundTrip() => _timed == 0 ? null : new(PerRoundTrip(_pingUsed), PerRoundTrip(_pongUsed));

        private SideUsage PerRoundTrip(ThreadUsage u) =>
            new(u.CpuNs / 1000.0 / _timed, u.UserUs / (double)_timed, u.SystemUs / (double)_timed, u.Sleeps / (double)_timed);

        public double MeasureIdle(int ms)
        {
            _pong!.Send(FormattableString.Invariant($"idle {ms}"));
            return D(_pong.Expect("idle")[1]);
        }

        public void Dispose()
        {
            if (_ping is null) return;
            _ping.Quit();
            _pong!.Quit();
            _ping.Dispose();
            _pong.Dispose();
            _ping = _pong = null;
        }
    }
}
