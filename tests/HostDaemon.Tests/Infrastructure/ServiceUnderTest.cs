namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>
/// The real <c>ivshmemd run --config FILE</c> as a child process started by <see cref="FakeSystemd"/>:
/// its notify socket, its fd store, signals. For what only a whole process shows (datagrams, signal
/// handling, restarts); everything else is tested on the server core in-process.
/// </summary>
internal sealed class ServiceUnderTest : IDisposable
{
    private int _generation;

    private ServiceUnderTest(TestDirectory dir, string configPath, IReadOnlyDictionary<string, string>? environment)
    {
        Dir = dir;
        ConfigPath = configPath;
        Environment = environment;
        Systemd = new FakeSystemd(dir)
        {
            // Which sockets exist at the moment each datagram arrives (READY=1 must find them all).
            Probe = () => string.Join(" ", Directory.GetFiles(dir.Path, "*.sock").Select(Path.GetFileName).Where(n => n != "notify.sock").Order(StringComparer.Ordinal)),
        };
    }

    public TestDirectory Dir { get; }
    public string ConfigPath { get; }
    public IReadOnlyDictionary<string, string>? Environment { get; }
    public FakeSystemd Systemd { get; }
    public SpawnedProcess Process { get; private set; } = null!;

    /// <summary>Index of the READY=1 datagram of the current process.</summary>
    public int ReadyIndex { get; private set; }

    public static string Binary => Path.Combine(AppContext.BaseDirectory, "ivshmemd");

    /// <summary>Writes the configuration (<paramref name="regionsYaml"/> is the list under "regions:"),
    /// starts the daemon and waits for READY=1.</summary>
    public static ServiceUnderTest Start(TestDirectory dir, string regionsYaml, IReadOnlyDictionary<string, string>? environment = null)
    {
        string config = dir.File("ivshmemd.yaml");
        File.WriteAllText(config, Yaml(dir, regionsYaml));
        var service = new ServiceUnderTest(dir, config, environment);
        service.StartProcess();
        return service;
    }

    /// <summary>Starts the daemon on a whole configuration file's text and waits for READY=1.</summary>
    public static ServiceUnderTest StartWithConfig(TestDirectory dir, string configYaml)
    {
        string config = dir.File("ivshmemd.yaml");
        File.WriteAllText(config, configYaml);
        var service = new ServiceUnderTest(dir, config, null);
        service.StartProcess();
        return service;
    }

    /// <summary>The whole configuration file for <paramref name="regionsYaml"/>.</summary>
    public static string Yaml(TestDirectory dir, string regionsYaml) =>
        $"runtime_directory: {dir.Path}\ncontrol_socket: {dir.File("control.sock")}\nregions:\n{regionsYaml}";

    /// <summary>A region entry for the YAML list, admitting host peers of the test user.</summary>
    public static string Region(string name, string size = "1M", int maxPeers = 4, string extra = "") =>
        $"  - {{name: {name}, size: {size}, max_peers: {maxPeers}, host_users: [{TestConfig.CurrentUser}]{extra}}}\n";

    public string SocketOf(string region) => Dir.File(region + ".sock");

    public string ControlSocket => Dir.File("control.sock");

    /// <summary>Starts the daemon (again: with whatever the fd store holds) and waits for its READY=1.</summary>
    public void StartProcess()
    {
        int from = Systemd.Datagrams.Count;
        Process = Systemd.StartService([Binary, "run", "--config", ConfigPath], Dir.File($"ivshmemd-{++_generation}.log"), Environment);
        ReadyIndex = Systemd.WaitFor(d => d.Is("READY=1") || Process.HasExited, $"READY=1 (log:\n{Process.Log})", from);
        Assert.False(Process.HasExited, $"ivshmemd exited during start-up:\n{Process.Log}");
    }

    public void Dispose()
    {
        Process?.Dispose();
        Systemd.Dispose();
    }
}
