using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Xunit.Abstractions;

namespace Ivshmem.Daemon.Tests.SystemdContainer;

/// <summary>
/// The real thing: <c>scripts/systemd-e2e</c> builds the Debian package (<c>scripts/package</c>: NativeAOT,
/// lintian; once per commit, cached in .cache/package), installs it with <c>dpkg -i</c> into a Debian
/// bookworm root without .NET (debootstrap, cached in .cache/) booted with systemd-nspawn, and checks
/// install-to-READY with the shipped configuration, start, StatusText, sockets, <c>ivshmemd status</c>,
/// reload (a new region, then a malformed file), a real QEMU connecting, the watchdog, restart, stop,
/// start again, and that <c>dpkg --purge</c> leaves nothing behind. See docs/systemd.md.
/// Cold (no cache) about 8 minutes on 2 cores, most of it the two NativeAOT publishes; warm about one.
/// </summary>
[Trait("Category", "SystemdContainer")]
public sealed class SystemdE2eTests(ITestOutputHelper output)
{
    // Cold on a 2-core CI machine: ~30 s packages, ~2.5 min debootstrap, ~4 min NativeAOT publish of
    // two programs, ~40 s checks;
    // a loaded machine takes several times that, and the script may first wait (up to 15 min) for
    // another run to release the cache lock. The limit only catches a hang: the script bounds each
    // of its own waits and says which one failed.
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(25);

    // After SIGTERM the script powers the container off (up to a minute) and prints the journal.
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(3);

    [RootFact]
    public async Task PackagedServiceRunsUnderRealSystemd()
    {
        string script = Path.Combine(RepositoryRoot(), "scripts", "systemd-e2e");
        var start = new ProcessStartInfo(script)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // dotnet test's MSBuild settings must not leak into the script's own dotnet publish.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);

        var log = new StringBuilder();
        void Append(string? line)
        {
            if (line is null)
                return;
            lock (log)
                log.AppendLine(line);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {script}");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();

        bool timedOut = false;
        using (var timeout = new CancellationTokenSource(Limit))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                // SIGTERM first: the script's trap powers the container off and prints the journal.
                Process.Start("kill", ["-TERM", process.Id.ToString()])?.WaitForExit();
                using var grace = new CancellationTokenSource(Grace);
                try
                {
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
        process.WaitForExit(); // drains the redirected streams

        string text;
        lock (log)
            text = log.ToString();
        output.WriteLine(text);
        Assert.False(timedOut, $"scripts/systemd-e2e did not finish within {Limit.TotalMinutes} minutes; its output:\n{text}");
        Assert.True(process.ExitCode == 0, $"scripts/systemd-e2e exited with {process.ExitCode}; its output:\n{text}");
    }

    /// <summary>Above the test assembly (the default bin/ layout), else above this source file (builds with
    /// --artifacts-path put the assembly outside the repository).</summary>
    private static string RepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "scripts", "systemd-e2e")) && File.Exists(Path.Combine(dir.FullName, "HostDaemon.sln")))
                    return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no repository root (with scripts/systemd-e2e) above {AppContext.BaseDirectory} or {sourceFile}");
    }
}
