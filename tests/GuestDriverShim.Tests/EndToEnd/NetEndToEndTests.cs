using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.EndToEnd;

/// <summary>
/// Guest networking with real VMs on two simulated hosts: runs scripts/net-e2e, which boots vm-a and
/// vm-b on host 1 (a network namespace with a bridge and its own ivshmemd) and vm-c on host 2 (another
/// namespace, its own ivshmemd, joined to host 1 by a veth pair shaped with tc netem), and checks ping
/// and unmodified iperf3 over virtio-net, then with <c>ivshmem-agent net</c> the ring path between the
/// co-resident guests (iperf3 and 256 MiB through busybox nc), a switch to virtio-net and back in the
/// middle of one connection, and the remote guest reached over the network. The script checks every
/// step and prints the consoles and both daemons' logs on failure; it removes both namespaces. Needs
/// root (namespaces, taps): skipped otherwise, with the reason.
/// </summary>
[Collection(RealVmCollection.Name)]
public sealed class NetEndToEndTests(ITestOutputHelper output)
{
    /// <summary>Generous: a cold run builds the NativeAOT agent and downloads the guest kernel and
    /// iperf3; a warm one under software emulation takes a few minutes.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(25);

    [RootFact]
    public void GuestsOnTwoHostsReachEachOtherOverTheNetworkAndCoResidentOnesOverTheRing()
    {
        ScriptResult run = RepositoryScript.Run(output, Limit, "net-e2e");

        run.AssertSucceeded("scripts/net-e2e", Limit);
        Assert.Contains("PASS: guests on two hosts over virtio-net (ping, iperf3)", run.Output);
        // Both simulated hosts are gone again: the namespaces the script named exist no more.
        Match hosts = Regex.Match(run.Output, @"network: host 1 = netns (?<h1>\S+), host 2 = netns (?<h2>\S+),");
        Assert.True(hosts.Success, $"scripts/net-e2e did not name its namespaces:\n{RepositoryScript.Tail(run.Output)}");
        Assert.False(File.Exists("/run/netns/" + hosts.Groups["h1"].Value), $"namespace {hosts.Groups["h1"].Value} is left behind");
        Assert.False(File.Exists("/run/netns/" + hosts.Groups["h2"].Value), $"namespace {hosts.Groups["h2"].Value} is left behind");
    }
}

/// <summary>A <see cref="FactAttribute"/> for tests that need root (network namespaces, bridges,
/// tap devices). xunit 2.9 has no dynamic skip, so the condition is checked when xunit reads the
/// attribute: not root, and the test is reported as skipped with the reason.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root: network namespaces, a bridge and tap devices (run scripts/test as root, or sudo scripts/net-e2e)";
    }
}
