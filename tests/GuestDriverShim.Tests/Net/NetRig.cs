using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>
/// What every net test starts from: two namespaces joined by a veth pair, the daemon, and 'net' as
/// host peer 'a' in one and 'b' in the other, both routing to each other. Agents a test starts later
/// (a restarted 'b') are kept too; at the end every agent's log goes to the test's output, then
/// agents, daemon and namespaces go, in that order.
/// </summary>
internal sealed class NetRig : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly List<NetAgentProcess> _agents = [];

    public NetRig(ITestOutputHelper output)
    {
        _output = output;
        Pair = new NamespacePair();
        try
        {
            Daemon = new NetDaemon();
            A = Start(Pair.A, "a");
            B = Start(Pair.B, "b");
            WaitUntilUp(A, B);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NamespacePair Pair { get; }
    public NetDaemon Daemon { get; } = null!;
    public NetAgentProcess A { get; } = null!;
    public NetAgentProcess B { get; } = null!;

    /// <summary>Starts another 'net' (e.g. b again, after it stopped).</summary>
    public NetAgentProcess Start(NetSide side, string name)
    {
        NetAgentProcess agent = NetAgentProcess.Start(Daemon, side, name);
        _agents.Add(agent);
        return agent;
    }

    public static void WaitUntilUp(NetAgentProcess a, NetAgentProcess b)
    {
        a.WaitFor($"is up: traffic to {b.Side.V4}");
        b.WaitFor($"is up: traffic to {a.Side.V4}");
    }

    public void Dispose()
    {
        foreach (NetAgentProcess agent in _agents)
        {
            _output.WriteLine($"--- {agent.Name} ---\n{agent.Log}");
            agent.Dispose();
        }
        Daemon?.Dispose();
        // A killed agent cannot remove its status socket; a later net would replace it, but the test
        // leaves nothing behind of its own (and touches no other name).
        foreach (NetSide side in new[] { Pair.A, Pair.B })
            if (!Ivshmem.Agent.Net.StatusServer.Answers(side.Tun)) File.Delete(Ivshmem.Agent.Net.StatusServer.PathOf(side.Tun));
        Pair.Dispose();
    }
}
