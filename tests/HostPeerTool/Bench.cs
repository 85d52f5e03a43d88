using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ivshmem.Peer.Host;

namespace Ivshmem.HostPeerTool;

/// <summary>
/// Measures the daemon from the outside, as a separate process: it writes a configuration, starts
/// <c>ivshmemd run --config</c>, and times (1) single handshakes, from connect() to the last own
/// eventfd received, with one other peer present; (2) 256 peers joining 64 regions (4 each), from the
/// first connect until all 256 handshakes are done, one after another and from 16 threads at once.
/// Prints a table; nothing here is a test.
/// </summary>
internal static class Bench
{
    public static int Run(ToolArgs a)
    {
        string ivshmemd = a.Required("ivshmemd");
        int handshakes = a.Int("handshakes", 100);
        int regions = a.Int("regions", 64);
        int peers = a.Int("peers", 256);
        int threads = a.Int("threads", 16);
        string dir = Directory.CreateTempSubdirectory("ivd-bench-").FullName;
        try
        {
            string config = Path.Combine(dir, "bench.yaml");
            File.WriteAllText(config, Config(dir, regions, (peers + regions - 1) / regions));
            using Process daemon = StartDaemon(ivshmemd, config, dir);
            try
            {
                WaitForSocket(Path.Combine(dir, "control.sock"), daemon);
                Console.WriteLine($"ivshmemd pid {daemon.Id}; {Environment.ProcessorCount} CPUs; {RuntimeInfo()}");
                var loop = new LoopThread(daemon.Id);
                MeasureHandshakes(Path.Combine(dir, "h.sock"), handshakes, loop);
                MeasureJoins(dir, regions, peers, 1, loop);
                MeasureJoins(dir, regions, peers, threads, loop);
            }
            finally
            {
                Tmds.Linux.LibC.kill(daemon.Id, 15 /* SIGTERM */);
                if (!daemon.WaitForExit(10_000)) daemon.Kill();
            }
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void MeasureHandshakes(string socket, int count, LoopThread loop)
    {
        var options = new HostPeerOptions { TrackPeers = false, Vectors = 2 };
        using HostPeer resident = HostPeer.Connect(socket, options);
        var times = new List<double>(count);
        for (int i = 0; i < 10; i++) HostPeer.Connect(socket, options).Dispose(); // warm up the JIT on both sides
        Thread.Sleep(200);
        long cpu = loop.CpuNanoseconds();
        for (int i = 0; i < count; i++)
        {
            using HostPeer peer = HostPeer.Connect(socket, options);
            times.Add(peer.HandshakeTime.TotalMicroseconds);
        }
        Thread.Sleep(200); // the departures too
        double cpuPerPeer = (loop.CpuNanoseconds() - cpu) / 1000.0 / count;
        times.Sort();
        Console.WriteLine($"handshake, connect() to own eventfds, 2 vectors, 1 other peer present, n={count}: " +
            $"median {Pct(times, 50):0} us, p10 {Pct(times, 10):0} us, p90 {Pct(times, 90):0} us, min {times[0]:0} us, max {times[^1]:0} us; " +
            $"daemon event loop CPU {cpuPerPeer:0} us per peer (join and leave)");
    }

    private static void MeasureJoins(string dir, int regions, int peers, int threads, LoopThread loop)
    {
        var options = new HostPeerOptions { TrackPeers = false, Vectors = 2 };
        var joined = new HostPeer[peers];
        long cpu = loop.CpuNanoseconds();
        var start = Stopwatch.GetTimestamp();
        Parallel.For(0, peers, new ParallelOptions { MaxDegreeOfParallelism = threads },
            i => joined[i] = HostPeer.Connect(Path.Combine(dir, $"s{i % regions}.sock"), options));
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        Thread.Sleep(100);
        double cpuMs = (loop.CpuNanoseconds() - cpu) / 1e6;
        Console.WriteLine($"{peers} peers join {regions} regions ({(peers + regions - 1) / regions} each), {threads} connecting thread{(threads == 1 ? "" : "s")}: " +
            $"{ms:0.0} ms in all, {ms * 1000 / peers:0} us per peer; daemon event loop CPU {cpuMs:0.0} ms");
        foreach (HostPeer p in joined) p.Dispose();
        // Give the daemon time to see them all leave before the next round reuses the slots.
        Thread.Sleep(500);
    }

    private static double Pct(List<double> sorted, int p) => sorted[Math.Min(sorted.Count - 1, sorted.Count * p / 100)];

    private static string Config(string dir, int regions, int perRegion)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine(CultureInfo.InvariantCulture, $"runtime_directory: {dir}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"control_socket: {dir}/control.sock");
        yaml.AppendLine("regions:");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"  - {{name: h, size: 4M, max_peers: 16, host_users: [{Environment.UserName}]}}");
        for (int r = 0; r < regions; r++)
            yaml.AppendLine(CultureInfo.InvariantCulture, $"  - {{name: s{r}, size: 64K, max_peers: {Math.Max(2, perRegion)}, host_users: [{Environment.UserName}]}}");
        return yaml.ToString();
    }

    private static Process StartDaemon(string ivshmemd, string config, string dir)
    {
        var start = new ProcessStartInfo(ivshmemd) { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(config);
        start.Environment.Remove("NOTIFY_SOCKET");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {ivshmemd}");
        var log = new StreamWriter(Path.Combine(dir, "ivshmemd.log"));
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginErrorReadLine();
        return process;
    }

    private static void WaitForSocket(string path, Process daemon)
    {
        long deadline = Environment.TickCount64 + 30_000;
        while (!File.Exists(path))
        {
            if (daemon.HasExited) throw new InvalidOperationException($"ivshmemd exited with {daemon.ExitCode} before listening; its log: {Path.Combine(Path.GetDirectoryName(path)!, "ivshmemd.log")}");
            if (Environment.TickCount64 > deadline) throw new TimeoutException($"ivshmemd did not create {path} within 30 s");
            Thread.Sleep(10);
        }
    }

    private static string RuntimeInfo() => $".NET {Environment.Version}";

    /// <summary>The daemon's event loop thread, found by name; its CPU time from schedstat (ns), which
    /// does not depend on how busy the machine is, unlike wall-clock time.</summary>
    private sealed class LoopThread
    {
        private readonly string _schedstat;

        public LoopThread(int pid)
        {
            long deadline = Environment.TickCount64 + 10_000;
            while (true)
            {
                foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
                    if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith("ivshmemd event", StringComparison.Ordinal))
                    {
                        _schedstat = Path.Combine(task, "schedstat");
                        return;
                    }
                if (Environment.TickCount64 > deadline) throw new InvalidOperationException($"no event loop thread in process {pid}");
                Thread.Sleep(10);
            }
        }

        public long CpuNanoseconds() => long.Parse(File.ReadAllText(_schedstat).Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
