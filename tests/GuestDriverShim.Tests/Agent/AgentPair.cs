using Ivshmem.Agent.Cli;
using Ivshmem.Agent.Links;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Tests.Agent;

/// <summary>
/// Two agents on one in-process region, "vm-a" (slot 0) and "vm-b" (slot 1), and the work a test runs
/// on them in the background. Dispose cancels <see cref="Stopping"/> and waits for that work before it
/// unmaps the region: a thread still reading an unmapped ring would crash the whole test host.
/// </summary>
internal sealed class AgentPair : IDisposable
{
    /// <summary>How long a link's waits may stall, unless a test says otherwise.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);

    private readonly TestRegion _region = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _background = [];

    public AgentPair()
    {
        A = _region.Join(0, "vm-a");
        B = _region.Join(1, "vm-b");
    }

    public TestEndpoint A { get; }
    public TestEndpoint B { get; }

    /// <summary>Cancelled when the test ends: the token for its background work.</summary>
    public CancellationToken Stopping => _stop.Token;

    public RingLink AToB(WaitMode mode = WaitMode.SpinThenBlock, TimeSpan? stallTimeout = null) =>
        AgentContext.OpenLink(A, A.FindPeer("vm-b"), mode, stallTimeout ?? StallTimeout);

    public RingLink BToA(WaitMode mode = WaitMode.SpinThenBlock, TimeSpan? stallTimeout = null) =>
        AgentContext.OpenLink(B, B.FindPeer("vm-a"), mode, stallTimeout ?? StallTimeout);

    /// <summary>Runs <paramref name="work"/> on its own thread until the test ends.</summary>
    public Task Start(Action work) => Background.Start(_background, work);

    public Task<T> Start<T>(Func<T> work) => Background.Start(_background, work);

    /// <summary>vm-b leaves as when its VM stops: the daemon marks it gone and rings vm-a's control vector.</summary>
    public void BLeaves() => _region.Leave(1);

    public void Dispose()
    {
        _stop.Cancel();
        Background.Drain(_background);
        _region.Dispose();
    }
}
