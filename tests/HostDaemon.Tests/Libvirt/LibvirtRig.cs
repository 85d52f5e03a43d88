using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Libvirt;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>
/// A private libvirtd, the daemon's server core in-process with region 'lv' for domains A and B (and
/// 'solo' for C with D, which never runs), and optionally the lifecycle follower. Domain names are
/// unique per rig: QEMU processes of other tests run on this host too, and the follower finds a
/// domain's QEMU by its -name.
/// </summary>
internal sealed class LibvirtRig : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly TestDirectory _dir = new();
    private LibvirtFollower? _follower;

    public LibvirtRig(ITestOutputHelper output, long regionSize = 1 << 20)
    {
        _output = output;
        string prefix = "lv" + Guid.NewGuid().ToString("N")[..6];
        (A, B, C, D) = (prefix + "-a", prefix + "-b", prefix + "-c", prefix + "-d");
        Libvirtd = new PrivateLibvirtd();
        RegionOptions lv = TestConfig.Region("lv", size: regionSize, vms: [A, B]);
        RegionOptions solo = TestConfig.Region("solo", size: regionSize, vms: [C, D]);
        Server = new RunningServer(TestConfig.Daemon(_dir, lv, solo) with { Libvirt = new LibvirtOptions(Libvirtd.Uri, true) }, _dir);
    }

    public string A { get; }
    public string B { get; }
    public string C { get; }
    public string D { get; }
    public PrivateLibvirtd Libvirtd { get; }
    public RunningServer Server { get; }
    public CapturingLogger FollowerLog { get; } = new();
    public RegionOptions Lv => Server.Options.Regions.Single(r => r.Name == "lv");

    /// <summary>Starts the follower against this libvirtd (or <paramref name="uri"/>).</summary>
    public LibvirtFollower Follow(string? uri = null, TimeSpan? retryDelay = null)
    {
        _follower = new LibvirtFollower(new LibvirtOptions(uri ?? Libvirtd.Uri, true), () => Server.Server.Options.Regions, FollowerLog,
            pid => Server.Server.UnpluggedQemu.Any(u => u.Process.Pid == pid))
        {
            RetryDelay = retryDelay ?? TimeSpan.FromMilliseconds(200),
        };
        _follower.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return _follower;
    }

    /// <summary>Names of the VMs connected to a region now.</summary>
    public IReadOnlyList<string> PeersOf(string region) => Server.RegionStatus(region).Peers.Select(p => p.Name).Order().ToList();

    public void Dispose()
    {
        try
        {
            _follower?.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            _output.WriteLine("--- follower log:\n" + FollowerLog);
            _output.WriteLine("--- server log:\n" + Server.Log);
        }
        finally
        {
            Libvirtd.Dispose();
            Server.Dispose();
            _dir.Dispose();
        }
    }
}
