using System.Diagnostics;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>What a command printed and how it ended.</summary>
internal sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n{Output}{Error}";
}

/// <summary>Runs the system's own tools (ip, iperf3) the way a person would, with a time limit.</summary>
internal static class Command
{
    public static CommandResult Run(string file, params string[] args) => Run(TimeSpan.FromSeconds(60), file, args);

    public static CommandResult Run(TimeSpan limit, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran longer than {limit.TotalSeconds} s");
        }
        process.WaitForExit();
        return new CommandResult(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Runs it and insists on exit status 0; returns its standard output.</summary>
    public static string Check(string file, params string[] args)
    {
        CommandResult result = Run(file, args);
        Assert.True(result.ExitCode == 0, $"{file} {string.Join(' ', args)} failed: {result}");
        return result.Output;
    }

    public static bool Exists(string file) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, file)));
}

/// <summary>A command left running while the test goes on (an iperf3 server or client).</summary>
internal sealed class BackgroundCommand : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _output;
    private readonly Task<string> _error;

    public BackgroundCommand(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        _process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        _output = _process.StandardOutput.ReadToEndAsync();
        _error = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>Waits for it to end by itself.</summary>
    public CommandResult Finish(TimeSpan limit)
    {
        Assert.True(_process.WaitForExit(limit), $"{_process.StartInfo.FileName} did not finish within {limit.TotalSeconds} s");
        _process.WaitForExit();
        return new CommandResult(_process.ExitCode, _output.Result, _error.Result);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }
}
