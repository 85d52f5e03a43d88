using System.Diagnostics;
using System.Text;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>
/// The real ivshmemd (built next to the tests) serving one region for host peers of root, in the root
/// network namespace: a UNIX socket is a file, so agents in any namespace reach it. 8 MiB and 4 slots:
/// each ring then carries a whole 64 KiB packet in one record.
/// </summary>
internal sealed class NetDaemon : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    public NetDaemon(string size = "8M", int maxPeers = 4)
    {
        string config = _dir.Combine("ivshmemd.yaml");
        File.WriteAllText(config,
            $"runtime_directory: {_dir.Path}\ncontrol_socket: {_dir.Combine("control.sock")}\n" +
            $"regions:\n  - {{name: net, size: {size}, max_peers: {maxPeers}, host_users: [root]}}\n");
        Socket = _dir.Combine("net.sock");
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "ivshmemd")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "run", "--config", config }) start.ArgumentList.Add(a);
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(Socket))
        {
            if (_process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new InvalidOperationException($"ivshmemd did not start:\n{Log}");
            Thread.Sleep(20);
        }
    }

    public string Socket { get; }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process.Dispose();
        _dir.Dispose();
    }
}
