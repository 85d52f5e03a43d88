using System.Diagnostics;
using System.Globalization;
using Ivshmem.Bench.Data;
using Ivshmem.Bench.Model;
using Ivshmem.Bench.Ring;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// Bandwidth of every transport at every size. All transports' process pairs stay up for the whole
/// run, and each size's repeats go round the transports in turn (ring, zero-copy, uds, pipe, tcp,
/// memcpy, copy-pipeline, then again), so a noisy neighbour slows all of them alike rather than whichever
/// transport happened to run at that moment.
/// </summary>
internal sealed class ThroughputRun(BenchOptions options, IRegionSource regions, Pinning pinning, Action<string> progress)
{
    public void Run(BenchResults results)
    {
        long window = Window.SizeFor(options.Sizes.Max(), options.WindowLimit);
        var lanes = new List<Lane>();
        try
        {
            foreach (Transport t in options.Transports) lanes.Add(Lane.Start(t, window, options, regions, pinning));
            // One untimed, checksummed lap through all the memory a lane uses (ring, socket buffers,
            // windows) before anything is timed: the first touch of a page costs microseconds here
            // (a virtual machine whose host backs guest memory lazily), and a long-running ring has
            // long since paid it.
            long prime = Math.Max(2 * options.RegionSize, window);
            foreach (Lane lane in lanes) lane.Transfer(prime, verify: true);
            progress($"primed every lane with a checked transfer of {Sizes.Label(prime)}");
            foreach (long size in options.Sizes)
            {
                int repeats = options.RepeatsFor(size);
                foreach (Lane lane in lanes)
                    for (int w = 0; w < options.Warmup; w++) lane.Transfer(size, verify: true);
                var mbps = lanes.ToDictionary(l => l, _ => new List<double>());
                for (int r = 0; r < repeats; r++)
                    foreach (Lane lane in lanes)
                        mbps[lane].Add(Sizes.Mbps(size, lane.Transfer(size, verify: false)));
                foreach (Lane lane in lanes) results.Throughput.Add(new ThroughputResult(lane.Transport, size, mbps[lane]));
                progress($"throughput {Sizes.Label(size),7}: " + string.Join("  ", lanes.Select(l =>
                    FormattableString.Invariant($"{l.Transport.Name()} {Stats.MinMedianMax(mbps[l]).Median,9:N0}"))) + $" Mbit/s (median of {repeats})");
            }
            foreach (Lane lane in lanes) results.Allocations.AddRange(lane.Allocations());
        }
        finally
        {
            foreach (Lane lane in lanes) lane.Dispose();
        }
    }

    /// <summary>One transport's sender and receiver (or the lone memcpy process).</summary>
    private sealed class Lane : IDisposable
    {
        private readonly Child _sender;
        private readonly Child? _receiver;
        private readonly IDisposable? _resources;
        private int _transfers;
        private long _senderAllocated, _receiverAllocated, _timed;

        private readonly bool _verbose;

        private Lane(Transport transport, Child sender, Child? receiver, IDisposable? resources, bool verbose)
        {
            _verbose = verbose;
            Transport = transport;
            _sender = sender;
            _receiver = receiver;
            _resources = resources;
        }

        public Transport Transport { get; }

        public static Lane Start(Transport transport, long window, BenchOptions options, IRegionSource regions, Pinning pinning)
        {
            var values = new Dictionary<string, string>
            {
                ["transport"] = transport.Name(),
                ["window"] = window.ToString(CultureInfo.InvariantCulture),
                ["chunk"] = options.Chunk.ToString(CultureInfo.InvariantCulture),
                ["mode"] = options.RingWait.ToString(),
                ["hot-window"] = options.RingHotWindow.ToString(CultureInfo.InvariantCulture),
            };
            string name = transport.Name();
            if (transport == Transport.Memcpy)
                return new Lane(transport, Child.Start(new ChildSpec("memcpy", "memcpy", ChildEndpointArgs.None, values, pinning.SenderCpu)), null, null, options.Verbose);
            if (transport == Transport.CopyPipeline)
            {
                // One process, not pinned as a whole: its two threads pin themselves to the pair's CPUs.
                if (pinning.SenderCpu is int s && pinning.ReceiverCpu is int r) values["cpus"] = FormattableString.Invariant($"{s},{r}");
                return new Lane(transport, Child.Start(new ChildSpec("copy-pipeline", "pipeline", ChildEndpointArgs.None, values, null)), null, null, options.Verbose);
            }

            IDisposable resources;
            ChildEndpointArgs a, b;
            if (transport.IsRing())
            {
                RegionPairing pairing = regions.Pair();
                (resources, a, b) = (pairing, pairing.A, pairing.B);
            }
            else
            {
                KernelPair pair = KernelPair.ForTransfer(transport);
                (resources, a, b) = (pair, pair.A, pair.B);
            }
            Child? sender = null;
            try
            {
                sender = Child.Start(new ChildSpec($"{name} sender", "xfer", a, new Dictionary<string, string>(values) { ["side"] = "send" }, pinning.SenderCpu));
                Child receiver = Child.Start(new ChildSpec($"{name} receiver", "xfer", b, new Dictionary<string, string>(values) { ["side"] = "recv" }, pinning.ReceiverCpu));
                return new Lane(transport, sender, receiver, resources, options.Verbose);
            }
            catch
            {
                sender?.Dispose();
                resources.Dispose();
                throw;
            }
        }

        /// <summary>One transfer of <paramref name="size"/> bytes; its time in seconds, from the
        /// sender's first byte to the receiver holding the last.</summary>
        public double Transfer(long size, bool verify)
        {
            int repeat = ++_transfers;
            string command = FormattableString.Invariant($"run {size} {repeat} {(verify ? 1 : 0)}");
            long ticks;
            if (_receiver is null)
            {
                _sender.Send(command);
                string[] done = _sender.Expect("done");
                ticks = Long(done[2]) - Long(done[1]);
                Account(verify, Long(done[4]), 0);
            }
            else
            {
                // The sender stamps and hashes first; then the receiver starts waiting, and the sender
                // starts as soon as the receiver says so (docs/benchmarks/README.md, "One transfer").
                _sender.Send("prepare" + command["run".Length..]);
                _sender.Expect("prepared");
                _receiver.Send(command);
                _receiver.Expect("ready");
                _sender.Send(command);
                string[] sent = _sender.Expect("done");
                string[] received = _receiver.Expect("done");
                ticks = Long(received[1]) - Long(sent[1]);
                if (_verbose)
                    Console.Error.WriteLine(FormattableString.Invariant(
                        $"    {Transport.Name()} {size} #{repeat}: {Sizes.Mbps(size, ticks / (double)Stopwatch.Frequency),9:N0} Mbit/s; sender done after {100.0 * (Long(sent[4]) - Long(sent[1])) / ticks:0}% of it; the receiver waited {(Long(sent[1]) - Long(received[4])) * 1e6 / Stopwatch.Frequency:0} us for the first byte{HotWindow(Long(sent[5]))}; compiled during it (methods/us): sender {sent[6]}, receiver {received[5]}"));
                ulong sentHash = ulong.Parse(sent[2], CultureInfo.InvariantCulture), receivedHash = ulong.Parse(received[2], CultureInfo.InvariantCulture);
                if (sentHash != 0 && receivedHash != 0 && sentHash != receivedHash)
                    throw new InvalidOperationException($"{Transport.Name()}: transfer {repeat} of {size} bytes arrived with checksum {receivedHash:x16}, sent with {sentHash:x16}");
                if (verify && (sentHash == 0 || receivedHash == 0))
                    throw new InvalidOperationException($"{Transport.Name()}: the checked transfer {repeat} came without a checksum");
                Account(verify, Long(sent[3]), Long(received[3]));
            }
            if (ticks <= 0) throw new InvalidOperationException($"{Transport.Name()}: transfer {repeat} took {ticks} ticks: the two processes' clocks disagree");
            return ticks / (double)Stopwatch.Frequency;
        }

        private static string HotWindow(long bytes) => bytes == 0 ? "" : FormattableString.Invariant($"; the ring's hot window then {bytes / 1024} KiB");

        public IEnumerable<AllocationResult> Allocations()
        {
            string name = Transport.Name();
            if (_receiver is null)
            {
                yield return new AllocationResult($"throughput: {name} copy loop", _senderAllocated, _timed);
                yield break;
            }
            yield return new AllocationResult($"throughput: {name} sender loop", _senderAllocated, _timed);
            yield return new AllocationResult($"throughput: {name} receiver loop", _receiverAllocated, _timed);
        }

        public void Dispose()
        {
            _sender.Quit();
            _receiver?.Quit();
            _sender.Dispose();
            _receiver?.Dispose();
            _resources?.Dispose();
        }

        private void Account(bool verify, long sender, long receiver)
        {
            if (verify) return; // only the timed transfers are counted (their hashers are made before the count starts in any case)
            _senderAllocated += sender;
            _receiverAllocated += receiver;
            _timed++;
        }

        private static long Long(string s) => long.Parse(s, CultureInfo.InvariantCulture);
    }
}
