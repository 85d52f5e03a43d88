using System.Diagnostics;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>
/// A host peer in another process (<c>ivshmem-host-peer join</c>), so that a test can kill it the hard
/// way (SIGKILL: nothing is closed politely, the kernel closes its fds).
/// </summary>
internal sealed class ChildPeer : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _events = [];

    private ChildPeer(Process process, int id, int slot)
    {
        _process = process;
        Id = id;
        Slot = slot;
    }

    public int Id { get; }
    public int Slot { get; }
    public int Pid => _process.Id;

    public static string Binary => Path.Combine(AppContext.BaseDirectory, "ivshmem-host-peer");

    /// <summary>With <c>events</c>: the announcements it has read, in order ("joined ID", "left ID",
    /// "server-gone"), as <c>ivshmem-host-peer join --events yes</c> prints them.</summary>
    public IReadOnlyList<string> Events
    {
        get { lock (_events) return [.. _events]; }
    }

    /// <summary>SIGSTOP: it reads nothing until <see cref="Continue"/>. Returns once every thread of it
    /// has stopped: the signal only takes a thread when it next enters the kernel or is interrupted, and
    /// until then a thread that is reading may still read (a CI rehearsal at 57fd261 found a "stopped"
    /// peer with more than its first event, most likely because kill returns before the process has stopped).</summary>
    public void Stop()
    {
        Spawn.Signal(Pid, 19);
        var clock = Stopwatch.StartNew();
        while (!AllThreadsStopped())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException($"peer process {Pid} did not stop within 10 s of SIGSTOP");
            Thread.Sleep(1);
        }
    }

    private bool AllThreadsStopped()
    {
        foreach (string task in Directory.EnumerateDirectories($"/proc/{Pid}/task"))
        {
            string stat;
            try { stat = File.ReadAllText(Path.Combine(task, "stat")); }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { continue; } // a thread that ended meanwhile
            // The state follows the command name, which is in parentheses and may contain anything.
            if (stat[stat.LastIndexOf(')') + 2] != 'T') return false;
        }
        return true;
    }

    /// <summary>SIGCONT.</summary>
    public void Continue() => Spawn.Signal(Pid, 18);

    public static ChildPeer Join(string socket, string? name = null, int vectors = 2, Func<string>? diagnostics = null, bool events = false)
    {
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string a in new[] { "join", socket, "--vectors", vectors.ToString(System.Globalization.CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
        if (name is not null) { start.ArgumentList.Add("--name"); start.ArgumentList.Add(name); }
        if (events) { start.ArgumentList.Add("--events"); start.ArgumentList.Add("yes"); }
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Binary}");
        Task<string?> line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is not { } joined || !joined.StartsWith("joined ", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"ivshmem-host-peer did not join: {process.StandardError.ReadToEnd()}\n{diagnostics?.Invoke()}");
        }
        var fields = joined.Split(' ').Skip(1).Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
        var child = new ChildPeer(process, int.Parse(fields["id"]), int.Parse(fields["slot"]));
        if (events) _ = child.ReadEvents();
        return child;
    }

    private async Task ReadEvents()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
            lock (_events) _events.Add(line);
    }

    public void Kill()
    {
        _process.Kill(); // SIGKILL
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
