using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Tests.Configuration;

/// <summary>Valid configurations: every key is read, every default applied, all paths absolute.</summary>
public sealed class ConfigLoaderTests
{
    private const string RuntimeDirectory = "/run/test-ivshmemd";

    private static DaemonOptions ParseValid(string yaml)
    {
        ConfigLoadResult result = ConfigLoader.Parse(yaml, "test.yaml", RuntimeDirectory);
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Empty(result.Errors);
        return result.Options;
    }

    [Fact]
    public void ParseAppliesEveryDefaultWhenOnlyRequiredKeysAreGiven()
    {
        DaemonOptions options = ParseValid("regions:\n  - name: web-db\n    size: 64M\n    vms: [web, db]\n");

        Assert.Equal(RuntimeDirectory, options.RuntimeDirectory);
        Assert.Equal(RuntimeDirectory + "/control.sock", options.ControlSocketPath);
        Assert.Null(options.ControlSocketGroup);
        Assert.Equal("test.yaml", options.SourcePath);
        RegionOptions region = Assert.Single(options.Regions);
        Assert.Equal("web-db", region.Name);
        Assert.Equal(64L << 20, region.SizeBytes);
        Assert.Equal(RegionBacking.Memfd, region.Backing);
        Assert.Null(region.HugePageSizeBytes);
        Assert.Null(region.HugetlbfsMount);
        Assert.Null(region.ShmFilePath);
        Assert.Equal(2, region.Vectors);
        Assert.Equal(RuntimeDirectory + "/web-db.sock", region.SocketPath);
        Assert.Equal(ConfigLimits.DefaultSocketMode, region.SocketMode);
        Assert.Equal("0660", Convert.ToString((int)region.SocketMode, 8).PadLeft(4, '0'));
        Assert.Null(region.SocketOwner);
        Assert.Null(region.SocketGroup);
        Assert.Equal(2, region.MaxPeers);
        Assert.Equal(["web", "db"], region.Vms);
        Assert.Empty(region.HostUsers);
        Assert.Empty(region.AllowUsers);
        Assert.Empty(region.AllowGroups);
    }

    [Fact]
    public void ParseReadsEveryKey()
    {
        DaemonOptions options = ParseValid("""
            runtime_directory: /srv/ivshmemd
            control_socket: /srv/control/ivshmemd.sock
            control_group: ivshmem
            regions:
              - name: bulk
                size: 1G
                backing: hugetlbfs
                hugepage_size: 2M
                hugetlbfs_mount: /mnt/huge
                vectors: 8
                socket: /srv/sockets/bulk.sock
                socket_mode: "0600"
                socket_owner: libvirt-qemu
                socket_group: kvm
                max_peers: 6
                vms: [web, db]
                host_users: [bench, backup]
                allow: { users: [libvirt-qemu, bench], groups: [kvm] }
              - name: debug
                size: 1M
                backing: shm-file
                shm_file: /dev/shm/debug-region
                vms: [web]
                host_users: [gdb]
            """);

        Assert.Equal("/srv/ivshmemd", options.RuntimeDirectory);
        Assert.Equal("/srv/control/ivshmemd.sock", options.ControlSocketPath);
        Assert.Equal("ivshmem", options.ControlSocketGroup);
        Assert.Equal(2, options.Regions.Count);
        RegionOptions bulk = options.Regions[0];
        Assert.Equal(new RegionOptions
        {
            Name = "bulk",
            SizeBytes = 1L << 30,
            Backing = RegionBacking.Hugetlbfs,
            HugePageSizeBytes = 2L << 20,
            HugetlbfsMount = "/mnt/huge",
            ShmFilePath = null,
            Vectors = 8,
            SocketPath = "/srv/sockets/bulk.sock",
            SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            SocketOwner = "libvirt-qemu",
            SocketGroup = "kvm",
            MaxPeers = 6,
            Vms = ["web", "db"],
            HostUsers = ["bench", "backup"],
            AllowUsers = ["libvirt-qemu", "bench"],
            AllowGroups = ["kvm"],
        }, bulk);
        RegionOptions debug = options.Regions[1];
        Assert.Equal(RegionBacking.ShmFile, debug.Backing);
        Assert.Equal("/dev/shm/debug-region", debug.ShmFilePath);
        Assert.Equal("/srv/ivshmemd/debug.sock", debug.SocketPath);
    }

    [Fact]
    public void BackingSpecificPathsDefaultOnlyForTheirBacking()
    {
        DaemonOptions options = ParseValid("""
            regions:
              - { name: huge, size: 64M, backing: hugetlbfs, vms: [a, b] }
              - { name: named, size: 64M, backing: shm-file, vms: [a, b] }
            """);

        Assert.Equal("/dev/hugepages", options.Regions[0].HugetlbfsMount);
        Assert.Null(options.Regions[0].HugePageSizeBytes);
        Assert.Null(options.Regions[0].ShmFilePath);
        Assert.Equal("/dev/shm/ivshmemd-named", options.Regions[1].ShmFilePath);
        Assert.Null(options.Regions[1].HugetlbfsMount);
    }

    [Theory]
    [InlineData(new[] { "a" }, new string[0], 2)]
    [InlineData(new[] { "a", "b", "c" }, new string[0], 3)]
    [InlineData(new[] { "a", "b", "c" }, new[] { "bench", "backup" }, 5)]
    [InlineData(new string[0], new[] { "bench" }, 2)]
    public void MaxPeersDefaultsToVmsPlusHostUsersButAtLeastTwo(string[] vms, string[] hostUsers, int expected)
    {
        DaemonOptions options = ParseValid($"regions:\n  - name: r\n    size: 64M\n    vms: [{string.Join(", ", vms)}]\n    host_users: [{string.Join(", ", hostUsers)}]\n");

        Assert.Equal(expected, options.Regions[0].MaxPeers);
    }

    [Theory]
    [InlineData("65536", 65536L)]
    [InlineData("64K", 65536L)]
    [InlineData("64k", 65536L)]
    [InlineData("64KiB", 65536L)]
    [InlineData("1M", 1L << 20)]
    [InlineData("1 MiB", 1L << 20)]
    [InlineData("2G", 2L << 30)]
    [InlineData("1T", 1L << 40)]
    public void SizeAcceptsBytesAndBinarySuffixes(string size, long expected)
    {
        DaemonOptions options = ParseValid($"regions:\n  - name: r\n    size: {size}\n    vms: [a, b]\n");

        Assert.Equal(expected, options.Regions[0].SizeBytes);
    }

    [Theory]
    [InlineData("\"0660\"", 0b110_110_000)]
    [InlineData("'660'", 0b110_110_000)]
    [InlineData("0660", 0b110_110_000)] // unquoted: still read as octal, not as the YAML number 660
    [InlineData("\"0o600\"", 0b110_000_000)]
    [InlineData("0666", 0b110_110_110)]
    [InlineData("\"0200\"", 0b010_000_000)]
    public void SocketModeIsAlwaysOctal(string yamlValue, int expected)
    {
        DaemonOptions options = ParseValid($"regions:\n  - name: r\n    size: 64M\n    vms: [a, b]\n    socket_mode: {yamlValue}\n");

        Assert.Equal((UnixFileMode)expected, options.Regions[0].SocketMode);
    }

    [Fact]
    public void AVmMayPairInSeveralRegions()
    {
        DaemonOptions options = ParseValid("""
            regions:
              - { name: web-db, size: 64M, vms: [web, db] }
              - { name: web-cache, size: 64M, vms: [web, cache] }
            """);

        Assert.Equal(["web-db", "web-cache"], options.RegionsForVm("web").Select(r => r.Name));
        Assert.Equal(["web-cache"], options.RegionsForVm("cache").Select(r => r.Name));
        Assert.Empty(options.RegionsForVm("WEB"));
        Assert.Equal(["cache", "db", "web"], options.AllVmNames());
    }

    [Fact]
    public void PathsAreNormalisedSoDuplicatesCannotHideBehindSlashes()
    {
        ConfigLoadResult result = ConfigLoader.Parse("""
            runtime_directory: /run//ivshmemd/
            regions:
              - { name: a, size: 64M, vms: [x, y] }
              - { name: b, size: 64M, vms: [x, y], socket: /run/ivshmemd/./a.sock }
            """, "test.yaml", RuntimeDirectory);

        ConfigError error = Assert.Single(result.Errors);
        Assert.Equal((4, 48), (error.Line, error.Column));
        Assert.StartsWith("socket '/run/ivshmemd/a.sock' is already the socket of region 'a'", error.Message);
    }

    [Fact]
    public void AnchorsAndAliasesAreFollowed()
    {
        DaemonOptions options = ParseValid("""
            regions:
              - name: a
                size: &size 128M
                vms: &pair [web, db]
              - name: b
                size: *size
                vms: *pair
            """);

        Assert.Equal(128L << 20, options.Regions[1].SizeBytes);
        Assert.Equal(["web", "db"], options.Regions[1].Vms);
    }

    [Fact]
    public void AllErrorsAreReportedInFileOrderNotJustTheFirst()
    {
        ConfigLoadResult result = ConfigLoader.Parse("""
            regions:
              - { name: a, size: 3M, vms: [x, y] }
              - { name: b, size: 64M, vms: [x, y], vectors: 99 }
              - { name: a, size: 64M, vms: [x, y] }
            bogus: 1
            """, "test.yaml", RuntimeDirectory);

        Assert.False(result.Succeeded);
        Assert.Equal([2, 3, 4, 5], result.Errors.Select(e => e.Line));
    }

    [Fact]
    public void ErrorToStringIsTheGccStyleLine()
    {
        var error = new ConfigError("/etc/ivshmemd/ivshmemd.yaml", 12, 7, "what is wrong; what would be valid");

        Assert.Equal("/etc/ivshmemd/ivshmemd.yaml:12:7: error: what is wrong; what would be valid", error.ToString());
    }

    [Fact]
    public void LoadReadsTheFileAndNamesItInOptionsAndErrors()
    {
        using var temp = new TempDirectory();
        string good = temp.Write("good.yaml", "regions:\n  - { name: r, size: 64M, vms: [a, b] }\n");
        string bad = temp.Write("bad.yaml", "regions:\n  - { name: r, size: 3M, vms: [a, b] }\n");

        Assert.Equal(good, ConfigLoader.Load(good, RuntimeDirectory).Options?.SourcePath);
        ConfigError error = Assert.Single(ConfigLoader.Load(bad, RuntimeDirectory).Errors);
        Assert.Equal((bad, 2, 22), (error.File, error.Line, error.Column));
    }

    [Fact]
    public void RegionEqualityComparesValuesIncludingLists()
    {
        const string yaml = "regions:\n  - { name: r, size: 64M, vms: [a, b], host_users: [u], allow: { groups: [kvm] } }\n";
        RegionOptions first = ParseValid(yaml).Regions[0];
        RegionOptions second = ParseValid(yaml).Regions[0];

        Assert.NotSame(first.Vms, second.Vms);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.NotEqual(first, second with { Vms = ["a", "c"] });
        Assert.NotEqual(first, second with { AllowGroups = [] });
        Assert.NotEqual(first, second with { Vectors = 3 });
    }
}
