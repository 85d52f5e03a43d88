using Ivshmem.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>
/// The lifecycle follower against a real libvirtd: paired domains defined and started get their
/// devices, a domain whose partner is not here gets none, and libvirtd going away and coming back is
/// survived. The follower runs as the daemon runs it, on the server core's pairings.
/// </summary>
public sealed class LibvirtFollowerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(60);

    [LibvirtFact]
    public void TwoPairedDomainsGetTheirDevicesAndOneAloneGetsNone()
    {
        using var rig = new LibvirtRig(output);
        rig.Follow();
        Eventually.True(() => rig.FollowerLog.WithEvent(7000).Any(), "the follower connected");

        rig.Libvirtd.Define(rig.A, TestDomainXml.For(rig.A, rig.Libvirtd.LogDirectory));
        rig.Libvirtd.MustVirsh("start", rig.A);
        rig.Libvirtd.Create(rig.C, TestDomainXml.For(rig.C, rig.Libvirtd.LogDirectory));
        Eventually.True(() => rig.FollowerLog.WithEvent(7007).Count() == 2, "A and C were reported alone", Boot);
        Assert.Empty(rig.PeersOf("lv"));

        rig.Libvirtd.Define(rig.B, TestDomainXml.For(rig.B, rig.Libvirtd.LogDirectory));
        rig.Libvirtd.MustVirsh("start", rig.B);

        Eventually.True(() => rig.PeersOf("lv").Count == 2, "A and B joined region lv", Boot);
        Assert.Equal(new[] { rig.A, rig.B }.Order(), rig.PeersOf("lv"));
        Assert.Empty(rig.PeersOf("solo"));
        Eventually.True(() => rig.FollowerLog.WithEvent(7005).Count() == 2, "the follower logged both attaches"); // after QEMU joined
        Assert.Contains(rig.FollowerLog.WithEvent(7004), e => e.Message.Contains($"'{rig.B}' started: booted"));
        Assert.DoesNotContain(rig.FollowerLog.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning);
    }

    [LibvirtFact]
    public void TheFollowerReconnectsWhenLibvirtdRestartsAndFollowsOn()
    {
        using var rig = new LibvirtRig(output);
        rig.Follow();
        Eventually.True(() => rig.FollowerLog.WithEvent(7000).Any(), "the follower connected");

        rig.Libvirtd.Stop();
        Eventually.True(() => rig.FollowerLog.WithEvent(7002).Any(), "the follower noticed libvirtd going away");
        Eventually.True(() => rig.FollowerLog.WithEvent(7001).Any(), "the follower could not reconnect while libvirtd was down");
        rig.Libvirtd.Start();
        Eventually.True(() => rig.FollowerLog.WithEvent(7000).Count() == 2, "the follower connected again", Boot);

        rig.Libvirtd.Create(rig.A, TestDomainXml.For(rig.A, rig.Libvirtd.LogDirectory));
        rig.Libvirtd.Create(rig.B, TestDomainXml.For(rig.B, rig.Libvirtd.LogDirectory));
        Eventually.True(() => rig.PeersOf("lv").Count == 2, "A and B joined region lv after the restart", Boot);
        Assert.Single(rig.FollowerLog.WithEvent(7001)); // said once per outage, however many tries
    }

    [LibvirtFact]
    public void WithoutLibvirtdTheFollowerKeepsTryingAndTheRegionsAreServed()
    {
        using var rig = new LibvirtRig(output);
        string nowhere = $"qemu:///system?socket={rig.Libvirtd.Directory}/nobody-listens";
        rig.Follow(nowhere, TimeSpan.FromMilliseconds(50));

        Eventually.True(() => rig.FollowerLog.WithEvent(7001).Any(), "the follower said it cannot connect");
        Thread.Sleep(500); // ten more tries

        var said = Assert.Single(rig.FollowerLog.WithEvent(7001));
        Assert.Contains(nowhere, said.Message);
        Assert.Contains("nobody-listens", said.Message);
        rig.Server.Connect("lv");
        Assert.Single(rig.Server.RegionStatus("lv").Peers);
    }
}
