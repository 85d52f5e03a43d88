using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Protocol;

/// <summary>
/// A refused connection gets one version message with a nonzero code and then the end of the
/// stream, never a half handshake (QEMU would spin) and never a bare close (same). The daemon logs why.
/// </summary>
public sealed class RefusalTests
{
    [Fact]
    public void UserNotInAllowUsersGetsCodeOneAndNothingElse()
    {
        using var server = new RunningServer(TestConfig.Region(allowUsers: ["nobody"]));

        var refused = Assert.Throws<ServerRefusedException>(() => server.Connect());

        Assert.Equal(1, refused.Code);
        Assert.Empty(refused.TrailingMessages);
        LogEntry entry = Assert.Single(server.Log.WithEvent(3000));
        Assert.Contains($"user '{TestConfig.CurrentUser}'", entry.Message);
        Assert.Contains("allow.users", entry.Message);
        Assert.Empty(server.RegionStatus().Peers);
    }

    [Fact]
    public void ProcessThatIsNeitherAConfiguredVmNorAHostUserGetsCodeOne()
    {
        using var server = new RunningServer(TestConfig.Region(vms: ["vm-a"], hostUsers: []));

        var refused = Assert.Throws<ServerRefusedException>(() => server.Connect());

        Assert.Equal(1, refused.Code);
        Assert.Contains("host_users", Assert.Single(server.Log.WithEvent(3000)).Message);
    }

    [Fact]
    public void FullRegionRefusesWithCodeTwoAndKeepsItsPeers()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 2));
        HostPeer a = server.Connect();
        HostPeer b = server.Connect();

        var refused = Assert.Throws<ServerRefusedException>(() => server.Connect());

        Assert.Equal(2, refused.Code);
        Assert.Empty(refused.TrailingMessages);
        Assert.Equal([a.OwnId, b.OwnId], server.RegionStatus().Peers.Select(p => p.Id).Order());
        Assert.Contains("max_peers", Assert.Single(server.Log.WithEvent(3000)).Message);
    }

    [Fact]
    public void HostPeerNameThatIsTakenGetsCodeThree()
    {
        using var server = new RunningServer(TestConfig.Region(vms: ["vm-a"]));
        server.Connect(name: "sender");

        Assert.Equal(3, Assert.Throws<ServerRefusedException>(() => server.Connect(name: "sender")).Code);
        Assert.Equal(3, Assert.Throws<ServerRefusedException>(() => server.Connect(name: "vm-a")).Code);
    }

    [Fact]
    public void RefusedConnectionUsesNoIdAndNoSlot()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 2));
        HostPeer a = server.Connect();
        HostPeer b = server.Connect();
        Assert.Throws<ServerRefusedException>(() => server.Connect());
        int freedSlot = b.Self.Slot;
        b.Dispose();
        server.WaitForPeerCount(1);

        HostPeer c = server.Connect();

        Assert.Equal(b.OwnId + 1, c.OwnId);
        Assert.Equal(freedSlot, c.Self.Slot);
    }
}
