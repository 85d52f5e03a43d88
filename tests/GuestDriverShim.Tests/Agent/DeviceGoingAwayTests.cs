using Ivshmem.Agent.Cli;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Measure;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Tests.Agent;

/// <summary>
/// A side whose device is being unplugged ends what it is doing with the reason, whatever it was
/// waiting for (docs/guest.md, "When the device comes and goes"): a server asleep on the doorbell,
/// a wait for a peer to join. The endpoint's <c>GoingAway</c> is what a guest device's request watch
/// sets; here the test endpoint plays it, over real rings and eventfds.
/// </summary>
public sealed class DeviceGoingAwayTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private const string Reason = "the device is being unplugged: the kernel asked for 0000:01:00.0 back (VFIO device request)";
    private readonly AgentPair _agents = new();

    public void Dispose() => _agents.Dispose();

    [Fact]
    public async Task AServerAsleepOnTheDoorbellEndsWithTheReason()
    {
        RingLink link = _agents.BToA(WaitMode.Block);
        Task server = _agents.Start(() => MeasureServer.ServeRing(link, once: false, Timeout.InfiniteTimeSpan, _ => { }, _agents.Stopping));
        await Task.Delay(200);
        Assert.False(server.IsCompleted, "the server must wait for a client");

        _agents.B.Unplug(Reason);

        var gone = await Assert.ThrowsAsync<PeerGoneException>(() => server.WaitAsync(Limit));
        Assert.Equal(Reason, gone.Message);
        (int code, string message) = AgentApp.Classify(gone);
        Assert.Equal(ExitCodes.PeerGone, code);
        Assert.Contains("being unplugged", message);
    }

    [Fact]
    public async Task AWaitForAPeerToJoinEndsWithTheReason()
    {
        Task<PeerEntry> wait = _agents.Start(() => ResolveAbsentPeer());
        await Task.Delay(200);
        Assert.False(wait.IsCompleted);

        _agents.A.Unplug(Reason);

        var gone = await Assert.ThrowsAsync<PeerGoneException>(() => wait.WaitAsync(Limit));
        Assert.Equal(Reason, gone.Message);
    }

    [Fact]
    public void WithoutAnUnplugTheEndpointIsNotGoingAway()
    {
        Assert.False(_agents.A.GoingAway.IsCancellationRequested);
        Assert.Null(_agents.A.GoingAwayReason);
    }

    private PeerEntry ResolveAbsentPeer()
    {
        var context = new AgentContext(AgentApp.Build().Parse(["list"]));
        return context.ResolvePeer(_agents.A, "vm-z", Timeout.InfiniteTimeSpan, _agents.Stopping);
    }
}
