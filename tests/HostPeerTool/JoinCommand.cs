using Ivshmem.Peer.Host;

namespace Ivshmem.HostPeerTool;

/// <summary>join: a host peer in a process of its own that joins and holds its place until standard
/// input closes, so that a test can kill it the hard way. Streams between host peers are
/// ivshmem-agent's job (send, recv), not this tool's.</summary>
internal static class JoinCommand
{
    /// <summary>Joins, prints who it is, and stays until standard input closes (or it is killed).</summary>
    public static int Run(ToolArgs a)
    {
        using HostPeer peer = Connect(a);
        Console.WriteLine($"joined id={peer.OwnId} slot={peer.Self.Slot} name={peer.Self.Name}");
        Console.Out.Flush();
        Console.In.ReadToEnd();
        return 0;
    }

    private static HostPeer Connect(ToolArgs a) => HostPeer.Connect(a.RequiredSocket, new HostPeerOptions
    {
        Name = a.Get("name"),
        Vectors = a.Int("vectors", 2),
    });
}
