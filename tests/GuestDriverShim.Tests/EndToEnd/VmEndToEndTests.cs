using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Ivshmem.Guest.Tests.EndToEnd;

/// <summary>
/// The proof in real VMs: runs scripts/vm-e2e, which boots two QEMU guests against a real ivshmemd
/// and moves data between them (and from a host peer) through VFIO, doorbells and the ring, kills one
/// guest mid-transfer and lets a new one join. The script checks every step and prints the guests'
/// consoles on failure; this test passes when it does, and shows its whole output otherwise.
/// </summary>
public sealed class VmEndToEndTests(ITestOutputHelper output)
{
    /// <summary>Generous: a cold run builds the NativeAOT agent and may download the guest kernel;
    /// a warm run under software emulation takes about a minute.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(20);

    [Fact]
    public void TwoGuestsExchangeDataThroughIvshmemd()
    {
        string script = Path.Combine(RepositoryRoot(), "scripts", "vm-e2e");
        var start = new ProcessStartInfo(script)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot(),
        };
        // The script builds with its own artifacts path; it must not inherit the test host's MSBuild
        // environment (dotnet test sets variables that would point nested builds elsewhere).
        foreach (string name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "DOTNET_HOST_PATH" })
            start.Environment.Remove(name);

        var log = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool finished = process.WaitForExit(Limit);
        if (!finished) process.Kill(entireProcessTree: true);
        process.WaitForExit();

        string text;
        lock (log) text = log.ToString();
        output.WriteLine(text);
        Assert.True(finished, $"scripts/vm-e2e did not finish within {Limit.TotalMinutes} minutes:\n{Tail(text)}");
        Assert.True(process.ExitCode == 0, $"scripts/vm-e2e failed with exit status {process.ExitCode}:\n{Tail(text)}");
        Assert.Contains("PASS: VFIO, peers by name", text);
    }

    /// <summary>The repository this test was built from (recorded at build time), or the one above
    /// the build output.</summary>
    private static string RepositoryRoot()
    {
        string? recorded = typeof(VmEndToEndTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "HostDaemon.sln"))) return recorded;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HostDaemon.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no repository recorded in the test assembly, and no HostDaemon.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>The end of the output, where the failure and the guests' consoles are.</summary>
    private static string Tail(string text) => text.Length <= 60_000 ? text : "...\n" + text[^60_000..];
}
