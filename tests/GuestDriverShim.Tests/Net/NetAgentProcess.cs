using System.Diagnostics;
using System.Text.Json;
using static Tmds.Linux.LibC;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>
/// 'ivshmem-agent net' as a host peer in a network namespace ('ip netns exec' runs it in place, so
/// its pid is the agent's): its standard error line by line, signals, exit status.
/// </summary>
internal sealed class NetAgentProcess : IDisposable
{
    private static readonly string Binary = Path.Combine(AppContext.BaseDirectory, "ivshmem-agent");
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private NetAgentProcess(NetSide side, string name, Process process)
    {
        Side = side;
        Name = name;
        _process = process;
    }

    public NetSide Side { get; }
    public string Name { get; }

    public static NetAgentProcess Start(NetDaemon daemon, NetSide side, string name, params string[] extra)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "netns", "exec", side.Namespace, Binary, "--socket", daemon.Socket, "--peer-name", name, "net", "--tun", side.Tun })
            start.ArgumentList.Add(a);
        foreach (string a in extra) start.ArgumentList.Add(a);
        var process = new Process { StartInfo = start };
        var agent = new NetAgentProcess(side, name, process);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (agent._lines) agent._lines.Add(e.Data); };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (agent._lines) agent._lines.Add(e.Data); };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return agent;
    }

    public string Log
    {
        get { lock (_lines) return string.Join('\n', _lines); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Waits for a line of its log that contains <paramref name="text"/>.</summary>
    public string WaitFor(string text, TimeSpan? limit = null)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (limit ?? TimeSpan.FromSeconds(30)))
        {
            lock (_lines)
                if (_lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line) return line;
            if (_process.HasExited) break;
            Thread.Sleep(20);
        }
        throw new TimeoutException($"'{Name}' never said '{text}'{(_process.HasExited ? $" (it exited with {_process.ExitCode})" : "")}; its log:\n{Log}");
    }

    /// <summary>SIGTERM, and its exit status.</summary>
    public int Terminate()
    {
        kill(_process.Id, SIGTERM);
        Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(10)), $"'{Name}' did not exit within 10 s of SIGTERM; its log:\n{Log}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Sends <paramref name="signal"/> (SIGSTOP freezes it: in the peer table, answering nothing).</summary>
    public void Signal(int signal) => Assert.Equal(0, kill(_process.Id, signal));

    /// <summary>SIGKILL: nothing runs on its side any more; the kernel closes its fds.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>'net status --json' of this agent, parsed.</summary>
    public JsonElement Status()
    {
        CommandResult result = Command.Run(Binary, "net", "status", "--json", "--tun", Side.Tun);
        Assert.True(result.ExitCode == 0, $"net status failed: {result}");
        using JsonDocument document = JsonDocument.Parse(result.Output);
        return document.RootElement.Clone();
    }

    /// <summary>The status of the peer named <paramref name="peer"/>.</summary>
    public JsonElement PeerStatus(string peer) =>
        Status().GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("name").GetString() == peer);

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
