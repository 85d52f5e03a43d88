namespace Ivshmem.Daemon.Configuration;

/// <summary>
/// The built-in configuration that <c>ivshmemd run --demo DIR</c> (and scripts/demo) uses: everything
/// under one directory the current user owns, so it runs without root and without a YAML file.
/// </summary>
public static class DefaultConfiguration
{
    public const string RegionName = "demo";
    public const long RegionSize = 64L << 20;
    public static readonly IReadOnlyList<string> VmNames = ["vm-a", "vm-b"];
    public const int MaxPeers = 4;

    /// <summary>What <see cref="DaemonOptions.SourcePath"/> says for this configuration.</summary>
    public const string SourceDescription = "(built-in demo configuration)";

    /// <summary>One region 'demo': 64 MiB memfd, 2 vectors, VMs vm-a and vm-b, host peers of the
    /// current user, at most 4 peers; sockets in <paramref name="runtimeDirectory"/>.</summary>
    /// <exception cref="ArgumentException">the directory is not usable (relative, or so long that the
    /// socket paths would not fit in sun_path).</exception>
    public static DaemonOptions Create(string runtimeDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runtimeDirectory);
        string directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(runtimeDirectory));
        string regionSocket = Path.Combine(directory, RegionName + ".sock");
        string controlSocket = Path.Combine(directory, DefaultPaths.ControlSocketFileName);
        foreach (string socket in new[] { regionSocket, controlSocket })
        {
            int bytes = System.Text.Encoding.UTF8.GetByteCount(socket);
            if (bytes > ConfigLimits.MaxSocketPathBytes)
                throw new ArgumentException($"runtime directory '{directory}' is too long: socket path '{socket}' would be {bytes} bytes, more than the {ConfigLimits.MaxSocketPathBytes} a UNIX socket path holds; use a shorter directory", nameof(runtimeDirectory));
        }

        var region = new RegionOptions
        {
            Name = RegionName,
            SizeBytes = RegionSize,
            Backing = RegionBacking.Memfd,
            Vectors = ConfigLimits.DefaultVectors,
            SocketPath = regionSocket,
            // Owner only: the demo's peers all run as the current user.
            SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            MaxPeers = MaxPeers,
            Vms = VmNames,
            HostUsers = [Environment.UserName],
        };
        return new DaemonOptions
        {
            RuntimeDirectory = directory,
            ControlSocketPath = controlSocket,
            ControlSocketGroup = null,
            Regions = [region],
            SourcePath = SourceDescription,
        };
    }
}
