using System.Runtime.CompilerServices;

namespace Ivshmem.Daemon.Tests.Configuration;

/// <summary>Paths of files in the source tree that tests read as they are (test data, packaging),
/// found from the test assembly's location so no copy into the output can go stale.</summary>
internal static class RepositoryLayout
{
    public static string Root { get; } = FindRoot();

    public static string BadConfigs => Path.Combine(Root, "tests", "HostDaemon.Tests", "TestData", "bad-configs");
    public static string ExampleConfig => Path.Combine(Root, "packaging", "ivshmemd.yaml");
    public static string SystemdUnit => Path.Combine(Root, "packaging", "systemd", "ivshmemd.service");
    public static string Sysusers => Path.Combine(Root, "packaging", "systemd", "ivshmemd.sysusers");
    public static string ConfigurationDoc => Path.Combine(Root, "docs", "configuration.md");
    public static string SystemdDoc => Path.Combine(Root, "docs", "systemd.md");

    /// <summary>Above the test assembly (the default bin/ layout), else above this source file (a build
    /// with --artifacts-path puts the assembly outside the repository).</summary>
    private static string FindRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "HostDaemon.sln")))
                    return dir.FullName;
        throw new InvalidOperationException($"no HostDaemon.sln above {AppContext.BaseDirectory} or {sourceFile}");
    }
}
