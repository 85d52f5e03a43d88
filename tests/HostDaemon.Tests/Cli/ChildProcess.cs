using System.Diagnostics;

namespace Ivshmem.Daemon.Tests.Cli;

/// <summary>Runs a program as a child process with a timeout, capturing everything it writes.</summary>
internal static class ChildProcess
{
    public static async Task<CliResult> RunAsync(string fileName, IEnumerable<string> arguments,
        string? standardInput = null, IReadOnlyDictionary<string, string?>? environment = null, int timeoutSeconds = 60,
        string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? "",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
                start.Environment.Remove(name);
            else
                start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
            await process.StandardInput.WriteAsync(standardInput);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', start.ArgumentList)} did not exit within {timeoutSeconds} s");
        }
        return new CliResult(process.ExitCode, await output, await error);
    }

    /// <summary>The built ivshmemd apphost, copied next to the test assembly by the project reference.</summary>
    public static string IvshmemdBinary
    {
        get
        {
            string path = Path.Combine(AppContext.BaseDirectory, "ivshmemd");
            if (!File.Exists(path))
                throw new FileNotFoundException($"the ivshmemd executable is not next to the tests ({path}); build the solution first", path);
            return path;
        }
    }
}
