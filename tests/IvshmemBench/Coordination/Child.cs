using System.Diagnostics;
using System.Text;
using Ivshmem.Bench.Native;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// A running child (this program started with <c>--child ROLE</c>), spoken to line by line: commands
/// on its stdin, one reply line per command on its stdout ("ready", "done ...", or "error MESSAGE").
/// Pinned with taskset when a CPU is given, so every thread of the child stays on that CPU.
/// </summary>
internal sealed class Child : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromMinutes(10);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private Child(string label, Process process)
    {
        Label = label;
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.AppendLine(e.Data);
        };
        _process.BeginErrorReadLine();
    }

    public string Label { get; }

    public static Child Start(ChildSpec spec)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var (program, prefix) = SelfCommand();
        if (spec.Cpu is int cpu && Pinning.TasksetPath is string taskset)
        {
            start.FileName = taskset;
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(cpu.ToString(System.Globalization.CultureInfo.InvariantCulture));
            start.ArgumentList.Add(program);
        }
        else
        {
            start.FileName = program;
        }
        foreach (string p in prefix) start.ArgumentList.Add(p);
        CoordinatorJit.RestoreForChild(start);
        start.ArgumentList.Add("--child");
        start.ArgumentList.Add(spec.Role);
        foreach (var (key, value) in spec.Values.Concat(spec.Endpoint.Values)) start.ArgumentList.Add($"{key}={value}");

        // The fds reach the child as dups without close-on-exec, made just before the start and closed
        // just after: children are started one at a time, so no other child inherits them.
        var dups = new List<int>();
        try
        {
            foreach (var (key, fd) in spec.Endpoint.Fds)
            {
                int dup = Posix.DupInheritable(fd);
                dups.Add(dup);
                start.ArgumentList.Add($"{key}={dup}");
            }
            Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
            return new Child(spec.Label, process);
        }
        finally
        {
            foreach (int fd in dups) Posix.Close(fd);
        }
    }

    /// <summary>Sends one command line.</summary>
    public void Send(string line)
    {
        try
        {
            _process.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }
        catch (IOException e)
        {
            throw Failed($"could not send '{line}' ({e.Message})");
        }
    }

    /// <summary>Reads the next reply, which must start with <paramref name="keyword"/>; returns its words.</summary>
    public string[] Expect(string keyword)
    {
        Task<string?> read = _process.StandardOutput.ReadLineAsync();
        if (!read.Wait(ReplyTimeout)) throw Failed($"no reply within {ReplyTimeout.TotalMinutes} minutes (expected '{keyword}')");
        string? line = read.Result;
        if (line is null) throw Failed($"exited (expected '{keyword}')");
        if (line.StartsWith("error ", StringComparison.Ordinal)) throw Failed(line["error ".Length..]);
        string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words[0] != keyword) throw Failed($"replied '{line}' (expected '{keyword}')");
        return words;
    }

    /// <summary>Asks the child to exit and waits for it.</summary>
    public void Quit()
    {
        if (_process.HasExited) return;
        try { Send("quit"); } catch (InvalidOperationException) { }
        if (!_process.WaitForExit(10_000)) _process.Kill(entireProcessTree: true);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    private InvalidOperationException Failed(string what)
    {
        if (_process.HasExited) _process.WaitForExit();
        string stderr;
        lock (_stderr) stderr = _stderr.ToString().Trim();
        string exit = _process.HasExited ? $" (exit code {_process.ExitCode})" : "";
        return new InvalidOperationException($"{Label}: {what}{exit}{(stderr.Length > 0 ? "\n" + stderr : "")}");
    }

    /// <summary>How to start this program again: its apphost next to the assembly, or the dotnet host
    /// that runs it with the dll (found from AppContext.BaseDirectory, never from a build path).</summary>
    internal static (string Program, string[] Prefix) SelfCommand()
    {
        string apphost = Path.Combine(AppContext.BaseDirectory, "ivshmem-bench");
        if (File.Exists(apphost)) return (apphost, []);
        string dll = Path.Combine(AppContext.BaseDirectory, "ivshmem-bench.dll");
        string host = Environment.ProcessPath is string p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return (host, [dll]);
    }
}
