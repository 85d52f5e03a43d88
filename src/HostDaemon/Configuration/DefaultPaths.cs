namespace Ivshmem.Daemon.Configuration;

/// <summary>Paths the daemon and its commands use when none is given.</summary>
public static class DefaultPaths
{
    /// <summary>The configuration file the packaged unit passes with --config.</summary>
    public const string ConfigFile = "/etc/ivshmemd/ivshmemd.yaml";

    /// <summary>Used when systemd did not set $RUNTIME_DIRECTORY (RuntimeDirectory=ivshmemd gives the same).</summary>
    public const string RuntimeDirectory = "/run/ivshmemd";

    /// <summary>File name of the control socket inside the runtime directory.</summary>
    public const string ControlSocketFileName = "control.sock";

    /// <summary>Control socket under the default runtime directory: where <c>ivshmemd status</c> looks.</summary>
    public const string ControlSocket = RuntimeDirectory + "/" + ControlSocketFileName;

    /// <summary>hugetlbfs mount used when a hugetlbfs region names none (systemd mounts it there).</summary>
    public const string HugetlbfsMount = "/dev/hugepages";

    /// <summary>Prefix of the default shm-file path: /dev/shm/ivshmemd-&lt;region name&gt;.</summary>
    public const string ShmFilePrefix = "/dev/shm/ivshmemd-";

    /// <summary>The state directory systemd gave the service (StateDirectory=ivshmemd sets
    /// $STATE_DIRECTORY=/var/lib/ivshmemd; with several directories the first is ours), else null:
    /// then the daemon keeps its state under <c>&lt;runtime_directory&gt;/state</c>. Not the runtime
    /// directory itself under systemd, because systemd removes that on stop.</summary>
    public static string? StateDirectoryFromEnvironment()
    {
        string? fromSystemd = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
        string? first = fromSystemd?.Split(':', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return first is not null && Path.IsPathRooted(first) ? first : null;
    }

    /// <summary>The runtime directory systemd gave the service (RuntimeDirectory= sets
    /// $RUNTIME_DIRECTORY; with several directories it is a colon-separated list and the first is
    /// ours), else <see cref="RuntimeDirectory"/>.</summary>
    public static string RuntimeDirectoryFromEnvironment()
    {
        string? fromSystemd = Environment.GetEnvironmentVariable("RUNTIME_DIRECTORY");
        string? first = fromSystemd?.Split(':', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return first is not null && Path.IsPathRooted(first) ? first : RuntimeDirectory;
    }
}
