using System.Diagnostics;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>
/// Every bash script of the project parses (<c>bash -n</c>). Most run in some test, but the
/// measuring ones (net-profile, net-bench, bench) run only by hand, and a quote inside a quoted
/// awk program once broke one of them without any test noticing.
/// </summary>
public sealed class ScriptSyntaxTests
{
    public static TheoryData<string> Scripts() => [.. ScriptPaths()];

    private static IEnumerable<string> ScriptPaths()
    {
        string scripts = Path.Combine(RepositoryLayout.Root, "scripts");
        foreach (string file in Directory.EnumerateFiles(scripts).Concat(Directory.EnumerateFiles(Path.Combine(scripts, "lib"), "*.sh")).Order())
        {
            using var reader = new StreamReader(file);
            string? first = reader.ReadLine();
            bool bash = first is not null && first.StartsWith("#!", StringComparison.Ordinal) && first.Contains("bash", StringComparison.Ordinal);
            if (bash || file.EndsWith(".sh", StringComparison.Ordinal)) yield return Path.GetRelativePath(RepositoryLayout.Root, file);
        }
        yield return Path.Combine(".ci", "run");
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void ParsesAsBash(string script)
    {
        var start = new ProcessStartInfo("bash", ["-n", Path.Combine(RepositoryLayout.Root, script)])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using Process bash = Process.Start(start)!;
        string errors = bash.StandardError.ReadToEnd();
        bash.WaitForExit();
        Assert.True(bash.ExitCode == 0, $"bash -n {script}: {errors}");
    }

    [Fact]
    public void FindsTheScripts() =>
        Assert.Contains(Path.Combine("scripts", "net-profile"), ScriptPaths());
}
