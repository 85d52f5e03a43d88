using System.Diagnostics;

namespace Ivshmem.Bench.Tests;

/// <summary>Runs the real ivshmem-bench program (built next to the tests) and collects what it printed.</summary>
internal static class BenchProcess
{
    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "ivshmem-bench"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"ivshmem-bench did not finish within 3 minutes\n{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

}
