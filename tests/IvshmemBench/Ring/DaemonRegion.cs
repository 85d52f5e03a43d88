using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Ivshmem.Bench.Coordination;
using Tmds.Linux;

namespace Ivshmem.Bench.Ring;

/// <summary>
/// Regions served by a real ivshmemd: the benchmark writes a configuration with one region per
/// pairing it will need (each <c>max_peers: 2</c>, so its two rings have the same geometry as a
/// self-provisioned region), runs <c>ivshmemd run --config FILE</c> unprivileged with every socket in
/// a temporary directory, and the children join as host peers over the region sockets, exactly as a
/// host application would (<see cref="Ivshmem.Peer.Host.HostPeer"/>).
/// </summary>
internal sealed class DaemonRegion : IRegionSource
{
    /// <summary>Pairings one run needs at most: two throughput lanes, three latency modes, the rate.</summary>
    public const int Regions = 8;

    private const int Vectors = 2;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly long _regionSize;
    private readonly string _directory;
    private readonly Process _daemon;
    private readonly StringBuilder _output = new();
    private readonly PosixSignalRegistration[] _signals;
    private int _next;
    private bool _disposed;

    private DaemonRegion(long regionSize, string directory, Process daemon)
    {
        _regionSize = regionSize;
        _directory = directory;
        _daemon = daemon;
        _daemon.OutputDataReceived += (_, e) => Append(e.Data);
        _daemon.ErrorDataReceived += (_, e) => Append(e.Data);
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        // Interrupted (Ctrl+C, SIGTERM, SIGHUP), the run still stops its daemon before it exits; the
        // children end by themselves when their stdin closes.
        _signals = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
            .Select(s => PosixSignalRegistration.Create(s, _ => Dispose()))];
    }

    public string Description =>
        $"served by ivshmemd (the one built with the benchmark, 'ivshmemd run --config', unprivileged): memfd regions of {Model.Sizes.Label(_regionSize)}, max_peers 2, {Vectors} vectors; the processes join as host peers over the region socket";

    /// <summary>The ivshmemd built with this program, next to it.</summary>
    public static string DaemonPath => Path.Combine(AppContext.BaseDirectory, "ivshmemd");

    /// <summary>Starts ivshmemd and waits until every region socket exists.</summary>
    public static DaemonRegion Start(long regionSize)
    {
        if (!File.Exists(DaemonPath))
            throw new InvalidOperationException($"{DaemonPath} is missing: ivshmemd is built next to ivshmem-bench (or use --region self)");
        string directory = Directory.CreateTempSubdirectory("ivshmem-bench-").FullName;
        string config = Path.Combine(directory, "ivshmemd.yaml");
        File.WriteAllText(config, Configuration(directory, regionSize));

        var start = new ProcessStartInfo(DaemonPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "run", "--config", config }) start.ArgumentList.Add(a);
        // Not under systemd: no notify socket or fd store to talk to.
        start.Environment.Remove("NOTIFY_SOCKET");
        start.Environment.Remove("LISTEN_FDS");
        var daemon = new DaemonRegion(regionSize, directory, Process.Start(start) ?? throw new InvalidOperationException($"could not start {DaemonPath}"));
        try
        {
            daemon.WaitForSockets();
            return daemon;
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
    }

    public RegionPairing Pair()
    {
        if (_daemon.HasExited) throw Failed("exited");
        if (_next == Regions) throw new InvalidOperationException($"all {Regions} regions served for this run are in use");
        string socket = SocketPath(_directory, ++_next);
        ChildEndpointArgs Side(string name, string peer) => new(
            new Dictionary<string, string>
            {
                ["ring-source"] = "daemon",
                ["socket"] = socket,
                ["name"] = name,
                ["peer-name"] = peer,
                ["vectors"] = Vectors.ToString(CultureInfo.InvariantCulture),
            },
            new Dictionary<string, int>());
        return new RegionPairing(Side("bench-a", "bench-b"), Side("bench-b", "bench-a"));
    }

    public void Dispose()
    {
        lock (_output)
        {
            if (_disposed) return;
            _disposed = true;
        }
        if (!_daemon.HasExited)
        {
            // SIGTERM: the daemon tells its peers and removes its sockets.
            LibC.kill(_daemon.Id, LibC.SIGTERM);
            if (!_daemon.WaitForExit(10_000)) _daemon.Kill(entireProcessTree: true);
        }
        _daemon.Dispose();
        foreach (PosixSignalRegistration r in _signals) r.Dispose();
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }

    private static string Configuration(string directory, long regionSize)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Written by ivshmem-bench for one run.");
        sb.AppendLine($"runtime_directory: {directory}");
        sb.AppendLine($"control_socket: {Path.Combine(directory, "control.sock")}");
        sb.AppendLine("regions:");
        for (int i = 1; i <= Regions; i++)
        {
            sb.AppendLine($"  - name: bench-{i}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"    size: {regionSize}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"    vectors: {Vectors}");
            sb.AppendLine($"    host_users: [{Environment.UserName}]");
            sb.AppendLine("    max_peers: 2");
            sb.AppendLine($"    socket: {SocketPath(directory, i)}");
        }
        return sb.ToString();
    }

    private static string SocketPath(string directory, int region) => Path.Combine(directory, $"bench-{region}.sock");

    private void WaitForSockets()
    {
        var clock = Stopwatch.StartNew();
        while (!Enumerable.Range(1, Regions).All(i => File.Exists(SocketPath(_directory, i))))
        {
            if (_daemon.HasExited) throw Failed($"exited with code {_daemon.ExitCode} before it served the regions");
            if (clock.Elapsed > StartTimeout) throw Failed($"did not create its sockets within {StartTimeout.TotalSeconds} s");
            Thread.Sleep(20);
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private InvalidOperationException Failed(string what)
    {
        string output;
        lock (_output) output = _output.ToString().Trim();
        return new InvalidOperationException($"ivshmemd {what}{(output.Length > 0 ? ":\n" + output : "")}");
    }
}
