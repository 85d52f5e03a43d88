using System.Diagnostics;
using Ivshmem.Bench.Children;
using Ivshmem.Peer;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Ring;

/// <summary>The child's side of <see cref="IRegionSource"/>: an endpoint from whatever the coordinator passed.</summary>
internal static class RingEndpoints
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(30);

    public static IvshmemEndpoint Open(ChildArgs a) => a.String("ring-source") switch
    {
        "self" => InheritedEndpoint.Open(a),
        "daemon" => HostPeer.Connect(a.String("socket"), new HostPeerOptions { Name = a.String("name"), Vectors = a.Int("vectors") }),
        string other => throw new ArgumentException($"unknown ring-source '{other}'"),
    };

    /// <summary>Opens the channel to the peer named in the arguments. Two host peers of a daemon join in
    /// no particular order, so this waits until the peer is in the peer table and, for a host peer,
    /// until its eventfds have arrived (a doorbell rung before then would ring nothing).</summary>
    public static RingChannel OpenChannel(IvshmemEndpoint endpoint, ChildArgs a, RingChannelOptions options)
    {
        string name = a.String("peer-name");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            PeerEntry? peer = endpoint.Region.Peers.FindByName(name);
            if (peer is { } p && (endpoint is not HostPeer host || host.PeerVectorCount(p.PeerId) == host.VectorCount))
                return endpoint.OpenChannel(p, options);
            if (clock.Elapsed > PeerTimeout) throw new TimeoutException($"peer '{name}' did not join the region within {PeerTimeout.TotalSeconds} s");
            Thread.Sleep(2);
        }
    }
}
