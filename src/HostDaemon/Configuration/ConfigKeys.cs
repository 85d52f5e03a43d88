namespace Ivshmem.Daemon.Configuration;

/// <summary>The YAML keys, once each. docs/configuration.md documents every one.</summary>
internal static class ConfigKeys
{
    public const string RuntimeDirectory = "runtime_directory";
    public const string StateDirectory = "state_directory";
    public const string ControlSocket = "control_socket";
    public const string ControlGroup = "control_group";
    public const string Regions = "regions";
    public const string Metrics = "metrics";
    public const string Libvirt = "libvirt";

    public static readonly string[] TopLevel = [RuntimeDirectory, StateDirectory, ControlSocket, ControlGroup, Metrics, Libvirt, Regions];

    public const string MetricsTextfile = "textfile";
    public const string MetricsInterval = "interval";

    public static readonly string[] MetricsSection = [MetricsTextfile, MetricsInterval];

    public const string LibvirtUri = "uri";
    public const string LibvirtFollow = "follow";

    public static readonly string[] LibvirtSection = [LibvirtUri, LibvirtFollow];

    public const string Name = "name";
    public const string Size = "size";
    public const string Backing = "backing";
    public const string HugePageSize = "hugepage_size";
    public const string HugetlbfsMount = "hugetlbfs_mount";
    public const string ShmFile = "shm_file";
    public const string Vectors = "vectors";
    public const string Socket = "socket";
    public const string SocketMode = "socket_mode";
    public const string SocketOwner = "socket_owner";
    public const string SocketGroup = "socket_group";
    public const string MaxPeers = "max_peers";
    public const string Vms = "vms";
    public const string HostUsers = "host_users";
    public const string Allow = "allow";

    public static readonly string[] Region =
    [
        Name, Size, Backing, HugePageSize, HugetlbfsMount, ShmFile, Vectors, Socket, SocketMode,
        SocketOwner, SocketGroup, MaxPeers, Vms, HostUsers, Allow,
    ];

    public const string AllowUsers = "users";
    public const string AllowGroups = "groups";

    public static readonly string[] AllowSection = [AllowUsers, AllowGroups];

    /// <summary>YAML spellings of <see cref="RegionBacking"/>.</summary>
    public static readonly IReadOnlyDictionary<string, RegionBacking> Backings = new Dictionary<string, RegionBacking>(StringComparer.Ordinal)
    {
        ["memfd"] = RegionBacking.Memfd,
        ["hugetlbfs"] = RegionBacking.Hugetlbfs,
        ["shm-file"] = RegionBacking.ShmFile,
    };

    public static string Spelling(RegionBacking backing) => Backings.First(kv => kv.Value == backing).Key;
}
