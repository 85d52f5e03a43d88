using System.Diagnostics;
using System.Globalization;
using Ivshmem.Bench.Model;
using Ivshmem.Bench.Report;
using Ivshmem.Bench.Ring;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// The program as the user starts it: parses the options, runs the throughput, latency and message
/// rate measurements (each through child processes), and writes the tables, JSON and chart.
/// Progress goes to stderr, the final tables to stdout.
/// </summary>
internal static class Coordinator
{
    public static int Run(IReadOnlyList<string> args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"ivshmem-bench: {e.Message}");
            return 2;
        }
        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        if (CoordinatorJit.RunWithoutTiering(args) is int status) return status;

        var clock = Stopwatch.StartNew();
        void Progress(string line) => Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {line}");
        Pinning pinning = Pinning.Parse(options.Pin);
        BenchResults results;
        try
        {
            pinning.PinCoordinator();
            using IRegionSource regions = options.RegionSource == "daemon"
                ? DaemonRegion.Start(options.RegionSize)
                : new SelfProvisionedRegion(options.RegionSize);
            results = new BenchResults
            {
                Machine = MachineInfo.Collect(),
                Settings = Settings(options, regions, pinning),
            };
            Progress($"machine: {results.Machine.Describe()}");
            Progress($"ring regions: {regions.Description}; {pinning.Describe()}");
            if (options.Throughput) new ThroughputRun(options, regions, pinning, Progress).Run(results);
            if (options.Latency) new LatencyRun(options, regions, pinning, Progress).Run(results);
            if (options.Rate && options.Transports.Any(t => t.IsRing())) new RateRun(options, regions, pinning, Progress).Run(results);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or TimeoutException)
        {
            Console.Error.WriteLine($"ivshmem-bench: {e.Message}");
            return 1;
        }
        results.Elapsed = clock.Elapsed;

        Console.Write(TextReport.Render(results, markdown: false));
        if (options.JsonPath is string json) WriteJson(results, json);
        if (options.OutDirectory is string dir)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "table.txt"), TextReport.Render(results, markdown: false));
            File.WriteAllText(Path.Combine(dir, "table.md"), TextReport.Render(results, markdown: true));
            WriteJson(results, Path.Combine(dir, "results.json"));
            if (results.Throughput.Count > 0) ChartWriter.Write(results, Path.Combine(dir, "throughput"));
            Progress($"wrote table.txt, table.md, results.json{(results.Throughput.Count > 0 ? ", throughput.png, throughput.svg" : "")} to {Path.GetFullPath(dir)}");
        }
        return 0;
    }

    private static void WriteJson(BenchResults results, string path)
    {
        string? parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null) Directory.CreateDirectory(parent);
        using FileStream file = File.Create(path);
        JsonReport.Write(results, file);
    }

    private static Dictionary<string, string> Settings(BenchOptions o, IRegionSource regions, Pinning pinning) => new()
    {
        ["command"] = "scripts/bench " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
        ["units"] = "KB = 1024 bytes, MB = 2^20, GB = 2^30; Mbit/s = 10^6 bit/s",
        ["repeats"] = o.BigRepeat is int big && big != o.Repeat
            ? string.Create(CultureInfo.InvariantCulture, $"{o.Repeat} timed per size ({big} from {Sizes.Label(Sizes.BigFrom)}), after {o.Warmup} untimed checksummed warm-up")
            : string.Create(CultureInfo.InvariantCulture, $"{o.Repeat} timed per size, after {o.Warmup} untimed checksummed warm-up"),
        ["chunk"] = $"{Sizes.Label(o.Chunk)} per sender call",
        ["window"] = $"send/receive buffers of up to {Sizes.Label(o.WindowLimit)}",
        ["ring region"] = regions.Description,
        ["ring wait (throughput)"] = o.RingWait.ToString(),
        ["ring hot window"] = o.RingHotWindow == 0 ? "none (wrap at the ring's end only)" : Sizes.Label(o.RingHotWindow),
        ["pinning"] = pinning.Describe(),
        ["latency"] = string.Create(CultureInfo.InvariantCulture, $"{o.LatencySamples:N0} timed round trips per transport and mode, in {o.LatencyRounds} rounds taken in turn (busy-poll alone, first)"),
        ["message rate"] = string.Create(CultureInfo.InvariantCulture, $"{o.Messages:N0} messages per run, batch {o.Batch}"),
    };
}
