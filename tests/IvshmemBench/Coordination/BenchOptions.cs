using Ivshmem.Bench.Model;

namespace Ivshmem.Bench.Coordination;

/// <summary>What to measure and how, from the command line (see <see cref="Usage"/>).</summary>
internal sealed record BenchOptions
{
    public bool Help { get; init; }
    public int Repeat { get; init; } = 20;
    public int? BigRepeat { get; init; }
    public int Warmup { get; init; } = 1;
    public IReadOnlyList<long> Sizes { get; init; } = Model.Sizes.TableIV;
    public IReadOnlyList<Transport> Transports { get; init; } = TransportNames.All;
    public bool Throughput { get; init; } = true;
    public bool Latency { get; init; } = true;
    public bool Rate { get; init; } = true;
    public int LatencySamples { get; init; } = 100_000;
    public int LatencyRounds { get; init; } = 10;
    public long Messages { get; init; } = 20_000_000;
    public int Batch { get; init; } = 256;
    public int IdleMs { get; init; } = 1000;
    public long Chunk { get; init; } = 256 * 1024;
    public long WindowLimit { get; init; } = 64L << 20;
    public long RegionSize { get; init; } = 64L << 20;
    public string RegionSource { get; init; } = "daemon";
    public Ivshmem.Ring.WaitMode RingWait { get; init; } = Ivshmem.Ring.WaitMode.SpinThenBlock;
    public long RingHotWindow { get; init; } = Ivshmem.Ring.RingLayout.DefaultHotWindow;
    public string Pin { get; init; } = "auto";
    public string? JsonPath { get; init; }
    public string? OutDirectory { get; init; }
    public bool Verbose { get; init; }

    /// <summary>Timed repeats for a transfer of <paramref name="size"/> bytes.</summary>
    public int RepeatsFor(long size) => size >= Model.Sizes.BigFrom && BigRepeat is int big ? big : Repeat;

    public const string Usage = """
        ivshmem-bench: IvshmemRing against UNIX sockets, pipes, TCP loopback and memcpy, side by side
        with the figures of An, Cam and Tan (2013), Table V. Each transport runs as two processes.

        usage: scripts/bench [options]

          --quick                sizes 16 KB, 256 KB, 2 MB, 100 MB, 1 GB; 5 repeats; fewer latency
                                 samples and messages (under two minutes on two cores)
          --repeat N             timed transfers per size and transport (default 20, --quick 5)
          --big-repeat N         timed transfers for 1 GB and more (default: as --repeat)
          --warmup N             untimed transfers before them, each fully checksummed (default 1)
          --sizes LIST           e.g. 16K,2M,1G (1024-based; default: all of the paper's Table IV)
          --transports LIST      of ring,ring-zero-copy,uds,pipe,tcp,memcpy,copy-pipeline (default: all)
          --only LIST            of throughput,latency,rate (default: all three)
          --latency-samples N    timed 64-byte round trips per transport and mode (default 100000)
          --latency-rounds N     split them into N rounds, taken in turn by every pair except
                                 busy-poll (measured alone first), so that load that comes and
                                 goes meets all of them alike (default 10, --quick 2)
          --messages N           64-byte messages per message-rate run (default 20000000)
          --batch N              messages per publish and per release when batching (default 256)
          --idle-ms N            how long each ring wait mode's echoing peer is left idle for the
                                 idle-CPU figure (default 1000, --quick 500)
          --chunk SIZE           bytes each sender hands its transport per call (default 256K)
          --window SIZE          largest send/receive buffer; bigger transfers cycle through it (default 64M)
          --region-size SIZE     the ring's region: two rings of about half of it (default 64M)
          --region daemon|self   who provisions the ring's regions: a running ivshmemd that the
                                 processes join as host peers (daemon, the default), or this
                                 program, handing them a memfd and eventfds as ivshmemd would (self)
          --ring-wait MODE       how the ring's ends wait in the throughput runs: spin-then-block
                                 (default), block or busy-poll
          --ring-hot-window SIZE how far into the ring a sender goes before it wraps early when its
                                 receiver keeps up (default 1M, the library's; 0: only at the
                                 ring's end; docs/ring.md, "The hot window")
          --pin auto|none|A,B    CPUs for the two processes of a pair (auto: 0 and 1 when there
                                 are two CPUs and taskset exists)
          --json FILE            write the results as JSON
          --out DIR              write table.txt, table.md, results.json, throughput.png and .svg
          -v, --verbose          every transfer on stderr (when its sender finished, how long its
                                 receiver waited for the first byte, the ring's hot window in use,
                                 what each side's runtime compiled meanwhile)
          -h, --help             this text

        The benchmark's processes run without the runtime's tiered compilation (no recompiles in the
        middle of a transfer); DOTNET_TieredCompilation=1 runs the children with it.
        Units: KB = 1024 bytes (the paper's sizes double from 512 KB to 1 MB), Mbit/s = 10^6 bit/s.
        Method: docs/benchmarks/README.md.
        """;

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        bool quick = args.Contains("--quick");
        if (quick)
            o = o with { Repeat = 5, Sizes = Model.Sizes.Quick, LatencySamples = 10_000, LatencyRounds = 2, Messages = 2_000_000, IdleMs = 500 };
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{arg} needs a value");
            o = arg switch
            {
                "-h" or "--help" => o with { Help = true },
                "--quick" => o,
                "--repeat" => o with { Repeat = Positive(arg, Value()) },
                "--big-repeat" => o with { BigRepeat = Positive(arg, Value()) },
                "--warmup" => o with { Warmup = NonNegative(arg, Value()) },
                "--sizes" => o with { Sizes = [.. List(Value()).Select(Model.Sizes.Parse)] },
                "--transports" => o with { Transports = [.. List(Value()).Select(TransportNames.Parse).Distinct().Order()] },
                "--only" => Only(o, List(Value())),
                "--latency-samples" => o with { LatencySamples = Positive(arg, Value()) },
                "--latency-rounds" => o with { LatencyRounds = Positive(arg, Value()) },
                "--messages" => o with { Messages = Positive(arg, Value()) },
                "--batch" => o with { Batch = Positive(arg, Value()) },
                "--idle-ms" => o with { IdleMs = Positive(arg, Value()) },
                "--chunk" => o with { Chunk = Model.Sizes.Parse(Value()) },
                "--window" => o with { WindowLimit = Model.Sizes.Parse(Value()) },
                "--region-size" => o with { RegionSize = Model.Sizes.Parse(Value()) },
                "--region" => o with { RegionSource = Value() },
                "--ring-wait" => o with { RingWait = ParseWait(Value()) },
                "--ring-hot-window" => o with { RingHotWindow = SizeOrZero(Value()) },
                "--pin" => o with { Pin = Value() },
                "--json" => o with { JsonPath = Value() },
                "--out" => o with { OutDirectory = Value() },
                "-v" or "--verbose" => o with { Verbose = true },
                _ => throw new ArgumentException($"unknown option '{arg}' (see --help)"),
            };
        }
        if (o.Chunk % Data.Stamps.BlockSize != 0 || o.Chunk > 64L << 20)
            throw new ArgumentException($"--chunk {o.Chunk}: it must be a multiple of {Data.Stamps.BlockSize} bytes, at most 64M");
        if (o.WindowLimit % Data.Stamps.BlockSize != 0 || o.WindowLimit > 1L << 30)
            throw new ArgumentException($"--window {o.WindowLimit}: it must be a multiple of {Data.Stamps.BlockSize} bytes, at most 1G");
        if (o.RegionSource is not ("self" or "daemon"))
            throw new ArgumentException($"--region {o.RegionSource}: use daemon or self");
        _ = Pinning.Parse(o.Pin);
        return o;
    }

    private static BenchOptions Only(BenchOptions o, IReadOnlyList<string> parts)
    {
        foreach (string p in parts)
            if (p is not ("throughput" or "latency" or "rate"))
                throw new ArgumentException($"--only: '{p}' is not one of throughput, latency, rate");
        return o with { Throughput = parts.Contains("throughput"), Latency = parts.Contains("latency"), Rate = parts.Contains("rate") };
    }

    private static Ivshmem.Ring.WaitMode ParseWait(string value) => value.ToLowerInvariant() switch
    {
        "spin-then-block" => Ivshmem.Ring.WaitMode.SpinThenBlock,
        "block" => Ivshmem.Ring.WaitMode.Block,
        "busy-poll" => Ivshmem.Ring.WaitMode.BusyPoll,
        _ => throw new ArgumentException($"--ring-wait '{value}': use spin-then-block, block or busy-poll"),
    };

    private static long SizeOrZero(string value) => value.Trim() switch
    {
        "0" => 0,
        string size => Model.Sizes.Parse(size),
    };

    private static string[] List(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int Positive(string option, string value) =>
        int.TryParse(value, out int n) && n > 0 ? n : throw new ArgumentException($"{option} '{value}': expected a positive whole number");

    private static int NonNegative(string option, string value) =>
        int.TryParse(value, out int n) && n >= 0 ? n : throw new ArgumentException($"{option} '{value}': expected a whole number, 0 or more");
}
