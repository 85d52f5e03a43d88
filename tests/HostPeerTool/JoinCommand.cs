using Ivshmem.Peer.Host;

namespace Ivshmem.HostPeerTool;

/// <summary>join: a host peer in a process of its own that joins and holds its place until standard
/// input closes, so that a test can kill it the hard way (or stop it with SIGSTOP). Streams between
/// host peers are ivshmem-agent's job (send, recv), not this tool's.</summary>
internal static class JoinCommand
{
    /// <summary>Joins, prints who it is, and stays until standard input closes (or it is killed). With
    /// <c>--events yes</c> it also prints one line per announcement as it reads it: "present ID" for
    /// each peer already complete at the join, then "joined ID", "left ID", and "server-gone".</summary>
    public static int Run(ToolArgs a)
    {
        bool events = a.Get("events") is "yes";
        using HostPeer peer = Connect(a, track: !events);
        Console.WriteLine($"joined id={peer.OwnId} slot={peer.Self.Slot} name={peer.Self.Name}");
        if (events)
        {
            var gate = new object();
            void Say(string line)
            {
                lock (gate)
                {
                    Console.WriteLine(line);
                    Console.Out.Flush();
                }
            }
            foreach (int id in peer.PeerIds) Say($"present {id}");
            peer.PeerConnected += id => Say($"joined {id}");
            peer.PeerDisconnected += id => Say($"left {id}");
            peer.ServerDisconnected += () => Say("server-gone");
            peer.StartTrackingPeers();
        }
        Console.Out.Flush();
        Console.In.ReadToEnd();
        return 0;
    }

    private static HostPeer Connect(ToolArgs a, bool track) => HostPeer.Connect(a.RequiredSocket, new HostPeerOptions
    {
        Name = a.Get("name"),
        Vectors = a.Int("vectors", 2),
        TrackPeers = track,
    });
}
