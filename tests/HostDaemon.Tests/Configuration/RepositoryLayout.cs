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

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HostDaemon.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no HostDaemon.sln above {AppContext.BaseDirectory}; tests must run from the build output inside the repository");
    }
}
