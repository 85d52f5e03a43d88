using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>Daemon options for tests: regions under a test directory, admitting host peers of the
/// user running the tests unless a test says otherwise.</summary>
internal static class TestConfig
{
    public static string CurrentUser => Environment.UserName;

    /// <summary>A region whose socket path is relative ("NAME.sock"): <see cref="RunningServer"/> puts
    /// it in its directory; <see cref="Daemon"/> callers use <see cref="InDirectory"/>.</summary>
    public static RegionOptions Region(string name = "r", long size = 1 << 20, int vectors = 2, int maxPeers = 4,
        IReadOnlyList<string>? vms = null, IReadOnlyList<string>? hostUsers = null, IReadOnlyList<string>? allowUsers = null,
        RegionBacking backing = RegionBacking.Memfd) => new()
    {
        Name = name,
        SizeBytes = size,
        Backing = backing,
        ShmFilePath = backing == RegionBacking.ShmFile ? $"/dev/shm/ivshmemd-test-{Guid.NewGuid():N}" : null,
        Vectors = vectors,
        SocketPath = name + ".sock",
        MaxPeers = maxPeers,
        Vms = vms ?? [],
        HostUsers = hostUsers ?? [CurrentUser],
        AllowUsers = allowUsers ?? [],
    };

    public static RegionOptions InDirectory(RegionOptions region, TestDirectory dir) =>
        region.SocketPath.StartsWith('/') ? region : region with { SocketPath = dir.File(region.SocketPath) };

    public static DaemonOptions Daemon(TestDirectory dir, params RegionOptions[] regions) => new()
    {
        RuntimeDirectory = dir.Path,
        ControlSocketPath = dir.File("control.sock"),
        Regions = regions.Select(r => InDirectory(r, dir)).ToList(),
        SourcePath = "(test)",
    };
}
