using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.EndToEnd;

/// <summary>
/// A guest's ivshmem device hot-added and hot-unplugged under <c>ivshmem-agent net</c> with real VMs:
/// runs scripts/hotplug-e2e, which boots vm-a with its device and vm-b without one (an empty PCIe root
/// port, a QMP socket), adds vm-b's device while an iperf3 connection runs over virtio-net (the agent
/// finds, binds and joins it; the connection moves to the ring) and unplugs it while the connection
/// runs on the ring (the agent lets go, DEVICE_DELETED arrives, the connection goes on over virtio-net).
/// The script checks every step and prints the consoles and the daemons' logs on failure. Needs root:
/// skipped otherwise, with the reason.
/// </summary>
[Collection(RealVmCollection.Name)]
public sealed class HotplugEndToEndTests(ITestOutputHelper output)
{
    /// <summary>Generous: a cold run builds the NativeAOT agent and the guest image; a warm one under
    /// software emulation takes a few minutes.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(25);

    [RootFact]
    public void NetFollowsTheDeviceInAndOutAndTheConnectionSurvivesBoth()
    {
        ScriptResult run = RepositoryScript.Run(output, Limit, "hotplug-e2e");

        run.AssertSucceeded("scripts/hotplug-e2e", Limit);
        Match pass = Regex.Match(run.Output, @"PASS: hot-add \(ivshmemd attach -> routes up (?<add>\d+) ms\) and hot-unplug \(ivshmemd detach (?<del>\d+) ms, released by the agent (?<rel>\d+) ms after the request\)");
        Assert.True(pass.Success, $"scripts/hotplug-e2e did not report its figures:\n{RepositoryScript.Tail(run.Output)}");
        Assert.True(double.Parse(pass.Groups["del"].Value, System.Globalization.CultureInfo.InvariantCulture) < 5000, "ivshmemd detach must complete within 5 s");
        Match hosts = Regex.Match(run.Output, @"network: host 1 = netns (?<h1>\S+), host 2 = netns (?<h2>\S+),");
        Assert.True(hosts.Success, $"scripts/hotplug-e2e did not name its namespaces:\n{RepositoryScript.Tail(run.Output)}");
        Assert.False(File.Exists("/run/netns/" + hosts.Groups["h1"].Value), $"namespace {hosts.Groups["h1"].Value} is left behind");
    }
}
