using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Hosting;
using Ivshmem.Daemon.Server;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Hosting;

/// <summary>The STATUS= line systemctl status shows.</summary>
public sealed class StatusTextTests
{
    private static readonly ServerStatus TwoRegions = new(
    [
        Region("web-db", "serving", Peer(0, "web"), Peer(1, "db")),
        Region("old", "retiring", Peer(7, "web")),
    ]);

    [Fact]
    public void StatusCountsRegionsAndPeersAndNamesEveryRegion() =>
        Assert.Equal("2 regions, 3 peers (web-db: 2/4; old: 1/4 retiring)", StatusText.Build(TwoRegions, null));

    [Fact]
    public void FailedReloadIsSaidFirst() =>
        Assert.Equal("Reload failed (2 errors, see the journal), serving the previous configuration: 2 regions, 3 peers (web-db: 2/4; old: 1/4 retiring)",
            StatusText.Build(TwoRegions, new ReloadRecord(DateTimeOffset.UtcNow, false, ["e1", "e2"], "")));

    [Fact]
    public void VeryManyRegionsAreCutToALine()
    {
        var many = new ServerStatus(Enumerable.Range(0, 64).Select(i => Region($"region-number-{i}", "serving")).ToList());
        string text = StatusText.Build(many, null);
        Assert.Equal(400, text.Length);
        Assert.StartsWith("64 regions, 0 peers (region-number-0: 0/4;", text);
        Assert.EndsWith("...", text);
    }

    private static RegionStatus Region(string name, string state, params PeerStatus[] peers) =>
        new(name, 1 << 20, RegionBacking.Memfd, "memfd", $"/run/ivshmemd/{name}.sock", 2, 4, state, false, 1, 8, peers);

    private static PeerStatus Peer(int id, string name) =>
        new(id, id, name, PeerKind.VirtualMachine, 100 + id, 0, "root", DateTimeOffset.UnixEpoch, false, false);
}
