using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>
/// 'ivshmem-agent net' for real: the daemon, and two agents as host peers, each in its own network
/// namespace, the namespaces joined by a veth pair that stands for the normal network. Real TUN
/// devices, real routes (read back with ip), real TCP (a checksummed transfer, iperf3).
/// One test at a time: they measure counters and timings.
/// </summary>
[Collection(NetCollection.Name)]
public sealed class NetNamespaceTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;

    [NetFact]
    public void BothSidesRouteToEachOtherThroughTheRingAndATransferArrivesWhole()
    {
        using var rig = new NetRig(output);
        var (pair, a, b) = (rig.Pair, rig.A, rig.B);
        Assert.Contains($"10.77.0.2 dev {pair.A.Tun} scope link src 10.77.0.1", pair.A.NetRoutes());
        Assert.Contains($"fd77::2 dev {pair.A.Tun} src fd77::1", pair.A.NetRoutes());
        Assert.Contains($"10.77.0.1 dev {pair.B.Tun} scope link src 10.77.0.2", pair.B.NetRoutes());
        Assert.Contains($"fd77::1 dev {pair.B.Tun} src fd77::2", pair.B.NetRoutes());

        foreach (var (address, size) in new[] { (pair.B.V4, 256 * MiB), (pair.B.V6, 64 * MiB) })
        {
            long tun = pair.A.Counter(pair.A.Tun, "tx_bytes"), veth = pair.A.Counter(pair.A.Veth, "tx_bytes");
            long allocatedA = Allocated(a), allocatedB = Allocated(b), packets = pair.A.Counter(pair.A.Tun, "tx_packets");
            TransferResult result = TcpTransfer.Run(pair.A, pair.B, address, size);
            // The packet threads allocate nothing per packet: what they allocated during thousands
            // of packets is what a few control records cost.
            packets = pair.A.Counter(pair.A.Tun, "tx_packets") - packets;
            long allocated = Allocated(a) - allocatedA + Allocated(b) - allocatedB;
            output.WriteLine($"{packets} packets a -> b; the packet threads of both sides allocated {allocated} bytes meanwhile");
            Assert.True(packets > 1000, $"only {packets} packets");
            Assert.True(allocated < 16 * 1024, $"the packet threads allocated {allocated} bytes for {packets} packets");
            Assert.Equal(result.SentHash, result.ReceivedHash);
            Assert.Equal(size, result.ReceivedBytes);
            long tunMoved = pair.A.Counter(pair.A.Tun, "tx_bytes") - tun, vethMoved = pair.A.Counter(pair.A.Veth, "tx_bytes") - veth;
            output.WriteLine($"{size / MiB} MiB to {address}: {tunMoved} bytes through the TUN device, {vethMoved} through the veth pair");
            Assert.True(tunMoved >= size, $"only {tunMoved} bytes went through the TUN device for {size}");
            Assert.True(vethMoved < size / 100, $"{vethMoved} bytes went through the veth pair");
        }
        JsonElement peer = a.PeerStatus("b");
        Assert.Equal("up", peer.GetProperty("state").GetString());
        Assert.True(peer.GetProperty("to_peer").GetProperty("bytes").GetInt64() >= 320 * MiB);
        Assert.Equal(2, peer.GetProperty("routes").GetArrayLength());
        // Hundreds of MiB through rings of under 1 MiB: full rings held the sender back; nothing
        // was dropped on either side, and nobody stalled.
        Assert.Equal(0, peer.GetProperty("dropped").EnumerateObject().Sum(d => d.Value.GetInt64()));
        Assert.Equal(0, peer.GetProperty("stalls").GetInt64());
        Assert.Equal(0, b.PeerStatus("a").GetProperty("dropped").EnumerateObject().Sum(d => d.Value.GetInt64()));
    }

    [NetFact]
    public void AConnectionMovesToTheNetworkWhenNetStopsAndBackToTheRingWhenItStartsAgain()
    {
        using var rig = new NetRig(output);
        var (pair, a, b) = (rig.Pair, rig.A, rig.B);
        using var server = Background("ip", "netns", "exec", pair.B.Namespace, "iperf3", "-s", "-1");
        Thread.Sleep(300);
        // Long enough for both switches however slowly a loaded machine makes them (in the CI rehearsal
        // at cb84ed6 the switch to the network took 1.5 s, and a run of 9 s was over before the ring
        // carried anything after b's net came back).
        using var client = Background("ip", "netns", "exec", pair.A.Namespace, "iperf3", "-c", pair.B.V4.ToString(), "-t", "25", "-i", "1", "--json");
        Thread.Sleep(2500);
        long tunBeforeStop = pair.A.Counter(pair.A.Tun, "tx_bytes");
        Assert.True(tunBeforeStop > 10 * MiB, $"after 2.5 s only {tunBeforeStop} bytes went through the TUN device");

        // Stop b's net: both sides' routes go, the connection carries on over the veth pair.
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, b.Terminate());
        WaitFor(() => pair.A.NetRoutes().Length == 0, SwitchLimit, $"a's routes to b were still there {SwitchLimit.TotalSeconds} s after b's net stopped:\n{pair.A.NetRoutes()}");
        output.WriteLine($"a's routes gone {clock.ElapsedMilliseconds} ms after SIGTERM to b (b exited in that time too)");
        Assert.Equal("", pair.B.NetRoutes());
        Assert.False(pair.B.DeviceExists(pair.B.Tun), "b's TUN device is still there after it exited");
        long vethAtStop = pair.A.Counter(pair.A.Veth, "tx_bytes");
        Thread.Sleep(2000);
        long overNetwork = pair.A.Counter(pair.A.Veth, "tx_bytes") - vethAtStop;
        Assert.True(overNetwork > 10 * MiB, $"only {overNetwork} bytes went over the veth pair in 2 s after the switch");

        // Start it again: the same connection goes back to the ring.
        NetAgentProcess b2 = rig.Start(pair.B, "b");
        b2.WaitFor("is up: traffic to 10.77.0.1");
        WaitFor(() => pair.A.NetRoutes().Contains(pair.A.Tun), TimeSpan.FromSeconds(5), "a did not route to b again");
        long tunAtRestart = pair.A.Counter(pair.A.Tun, "tx_bytes");
        WaitFor(() => pair.A.Counter(pair.A.Tun, "tx_bytes") - tunAtRestart > 10 * MiB, TimeSpan.FromSeconds(10),
            $"fewer than {10 * MiB} bytes went through the ring after b's net came back");
        long backOnRing = pair.A.Counter(pair.A.Tun, "tx_bytes") - tunAtRestart;
        CommandResult iperf = client.Finish(TimeSpan.FromSeconds(45));
        Assert.True(iperf.ExitCode == 0, $"iperf3 failed across the switches: {iperf}");
        using JsonDocument json = JsonDocument.Parse(iperf.Output);
        JsonElement end = json.RootElement.GetProperty("end");
        output.WriteLine($"iperf3: {end.GetProperty("sum_received").GetProperty("bytes").GetInt64()} bytes received, " +
            $"{end.GetProperty("sum_sent").GetProperty("retransmits").GetInt64()} retransmits; {overNetwork} bytes over the network in the 2 s without b's net, {backOnRing} through the ring after");
        Assert.Single(end.GetProperty("streams").EnumerateArray());
    }

    [NetFact]
    public void AKilledAgentLeavesNoRouteAndTheNextStartRemovesWhatWasLeftBehind()
    {
        using var rig = new NetRig(output);
        var (pair, a, b) = (rig.Pair, rig.A, rig.B);
        var clock = Stopwatch.StartNew();
        b.Kill();
        WaitFor(() => pair.A.NetRoutes().Length == 0, SwitchLimit, $"a's routes to b were still there {SwitchLimit.TotalSeconds} s after b was killed");
        output.WriteLine($"a's routes gone {clock.ElapsedMilliseconds} ms after SIGKILL to b");
        Assert.Equal("", pair.B.NetRoutes());
        Assert.False(pair.B.DeviceExists(pair.B.Tun), "the kernel did not remove b's TUN device with its process");

        // What a crash cannot leave, but a hand or an older build could: a persistent device of
        // net's name with a route of net's that blackholes traffic to a, and a route of net's on
        // another device.
        Command.Check("ip", "-n", pair.B.Namespace, "tuntap", "add", "dev", pair.B.Tun, "mode", "tun");
        Command.Check("ip", "-n", pair.B.Namespace, "link", "set", pair.B.Tun, "up");
        Command.Check("ip", "-n", pair.B.Namespace, "route", "add", "10.77.0.1/32", "dev", pair.B.Tun, "proto", "73");
        Command.Check("ip", "-n", pair.B.Namespace, "route", "add", "10.77.0.99/32", "dev", pair.B.Veth, "proto", "73");

        NetAgentProcess b2 = rig.Start(pair.B, "b");
        b2.WaitFor($"removed the TUN device {pair.B.Tun} that an earlier run left behind");
        b2.WaitFor("route 10.77.0.99/32 dev veth-b (proto 73) removed: left behind by an earlier run");
        b2.WaitFor("is up: traffic to 10.77.0.1");
        WaitFor(() => pair.A.NetRoutes().Contains(pair.A.Tun), TimeSpan.FromSeconds(5), "a did not route to b again");
        string routes = pair.B.NetRoutes();
        Assert.Contains($"10.77.0.1 dev {pair.B.Tun} scope link src 10.77.0.2", routes);
        Assert.DoesNotContain("10.77.0.99", routes);

        long tun = pair.B.Counter(pair.B.Tun, "tx_bytes");
        TransferResult result = TcpTransfer.Run(pair.B, pair.A, pair.A.V4, 16 * MiB);
        Assert.Equal(result.SentHash, result.ReceivedHash);
        Assert.True(pair.B.Counter(pair.B.Tun, "tx_bytes") - tun >= 16 * MiB, "the transfer did not go through b's new TUN device");
    }

    [NetFact]
    public void APeerWhoseNetHangsLosesItsRoutesForThatReasonAndGetsThemBackWhenItAnswers()
    {
        // As a guest's agent that stops answering while its VM stays in the peer table: only the
        // heartbeats can tell.
        using var rig = new NetRig(output);
        var (pair, a, b) = (rig.Pair, rig.A, rig.B);
        var clock = Stopwatch.StartNew();
        b.Signal(Tmds.Linux.LibC.SIGSTOP);
        WaitFor(() => pair.A.NetRoutes().Length == 0, SwitchLimit, $"a's routes to b were still there {SwitchLimit.TotalSeconds} s after b's net stopped answering");
        output.WriteLine($"a's routes gone {clock.ElapsedMilliseconds} ms after b's net stopped answering");
        a.WaitFor("is down: no answer for 0.4 s");
        // Meanwhile a reaches b over the network (b's own routes are still there, its net frozen:
        // b's replies are lost until it answers again, so only a's side is checked here).
        b.Signal(Tmds.Linux.LibC.SIGCONT);
        WaitFor(() => pair.A.NetRoutes().Contains(pair.A.Tun), TimeSpan.FromSeconds(3), "a did not route to b again after b answered");
        TransferResult result = TcpTransfer.Run(pair.A, pair.B, pair.B.V4, 16 * MiB);
        Assert.Equal(result.SentHash, result.ReceivedHash);
    }

    private static long Allocated(NetAgentProcess agent) => agent.Status().GetProperty("packet_threads_allocated_bytes").GetInt64();

    [Fact]
    public void StatusWithoutARunningNetSaysSo()
    {
        var (code, _, error) = Agent.CommandLineTests.Run("net", "status", "--tun", "ivnone0");
        Assert.Equal(1, code);
        Assert.Contains("no 'ivshmem-agent net' runs with the TUN device ivnone0", error);
    }

    // How long a switch to the network may take before a test calls it lost. The switch itself is
    // measured and printed (a few hundred ms on a quiet machine: 0.4 s without heartbeats, then the
    // route change); the limit is wider because CI runs these beside software-emulated guests on two
    // cores, where the agent's timer thread can wait its turn for a second (the CI run of stop 17
    // saw 1.07 s). What the tests assert is that the routes go, for the stated reason.
    private static readonly TimeSpan SwitchLimit = TimeSpan.FromSeconds(5);

    internal static void WaitFor(Func<bool> condition, TimeSpan limit, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < limit, $"{failure} (waited {clock.ElapsedMilliseconds} ms)");
            Thread.Sleep(10);
        }
    }

    private static BackgroundCommand Background(string file, params string[] args) => new(file, args);
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NetCollection
{
    public const string Name = "net (namespaces, counters, timings)";
}
