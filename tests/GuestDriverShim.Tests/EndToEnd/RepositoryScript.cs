using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.EndToEnd;

/// <summary>What one run of a repository script produced: whether it finished within its limit, its
/// exit status, and its standard output and error interleaved as they arrived.</summary>
internal sealed record ScriptResult(bool Finished, int ExitCode, string Output)
{
    /// <summary>Fails the test, with the end of the output, unless the script finished within
    /// <paramref name="limit"/> and exited 0.</summary>
    public void AssertSucceeded(string script, TimeSpan limit)
    {
        Assert.True(Finished, $"{script} did not finish within {limit.TotalMinutes} minutes:\n{RepositoryScript.Tail(Output)}");
        Assert.True(ExitCode == 0, $"{script} failed with exit status {ExitCode}:\n{RepositoryScript.Tail(Output)}");
    }
}

/// <summary>Runs the repository's scripts (scripts/vm-e2e, scripts/demo) from tests, the way a person
/// would, and keeps everything they print for the test's output.</summary>
internal static class RepositoryScript
{
    /// <summary>Runs scripts/NAME with ARGS in the repository, kills its whole process tree when it
    /// outlives <paramref name="limit"/>, and writes its output to the test's output.</summary>
    public static ScriptResult Run(ITestOutputHelper output, TimeSpan limit, string name, params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(Root, "scripts", name))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Root,
        };
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        // The scripts build with their own artifacts paths; they must not inherit the test host's
        // MSBuild environment (dotnet test sets variables that would point nested builds elsewhere).
        foreach (string variable in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "DOTNET_HOST_PATH" })
            start.Environment.Remove(variable);

        var log = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool finished = process.WaitForExit(limit);
        if (!finished) process.Kill(entireProcessTree: true);
        process.WaitForExit();

        string text;
        lock (log) text = log.ToString();
        output.WriteLine(text);
        return new ScriptResult(finished, process.ExitCode, text);
    }

    /// <summary>The repository this test was built from (recorded at build time), or the one above
    /// the build output.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        string? recorded = typeof(RepositoryScript).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "HostDaemon.sln"))) return recorded;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HostDaemon.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no repository recorded in the test assembly, and no HostDaemon.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>The end of the output, where the failure and the guests' consoles are.</summary>
    public static string Tail(string text) => text.Length <= 60_000 ? text : "...\n" + text[^60_000..];

    /// <summary>The command lines of the processes that name <paramref name="path"/> (the daemon and
    /// the QEMUs of a script's run all do): what a script left running.</summary>
    public static string[] ProcessesMentioning(string path)
    {
        var found = new List<string>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string commandLine;
            try { commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (commandLine.Contains(path, StringComparison.Ordinal))
                found.Add($"{pid}: {commandLine}");
        }
        return [.. found];
    }
}

/// <summary>The tests that boot real guests: one at a time, so that no two pairs of QEMUs compete for
/// the host's CPUs (the scripts' timings, such as how soon a peer's death is noticed, suffer).</summary>
[CollectionDefinition(Name)]
public sealed class RealVmCollection
{
    public const string Name = "real VMs";
}
