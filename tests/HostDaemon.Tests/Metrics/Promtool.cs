using System.Diagnostics;

namespace Ivshmem.Daemon.Tests.Metrics;

/// <summary>Prometheus' own checker of the text format (<c>promtool check metrics</c>, Debian package
/// prometheus, which scripts/test installs). Missing, it fails the test that needs it, saying so.</summary>
internal static class Promtool
{
    public static string Path =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':')
            .Select(dir => System.IO.Path.Combine(dir, "promtool"))
            .FirstOrDefault(File.Exists)
        ?? throw new Xunit.Sdk.XunitException("promtool is not installed, so the metrics cannot be checked: apt-get install prometheus (scripts/test installs it)");

    /// <summary>Runs <c>promtool check metrics</c> on <paramref name="text"/>; returns its exit status
    /// and everything it printed (it lints on standard error).</summary>
    public static (int ExitCode, string Output) CheckMetrics(string text)
    {
        var start = new ProcessStartInfo(Path, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(text);
        process.StandardInput.Close();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException("promtool check metrics did not finish in 30 s");
        }
        return (process.ExitCode, output.Result + error.Result);
    }
}
