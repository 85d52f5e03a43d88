using Ivshmem.Bench.Children;
using Ivshmem.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Ring;

/// <summary>The child's side of <see cref="IRegionSource"/>: an endpoint from whatever the coordinator passed.</summary>
internal static class RingEndpoints
{
    public static IvshmemEndpoint Open(ChildArgs a) => a.String("ring-source") switch
    {
        "self" => InheritedEndpoint.Open(a),
        string other => throw new ArgumentException($"unknown ring-source '{other}'"),
    };

    /// <summary>Opens the channel to the peer named in the arguments (waiting for it to join, since
    /// two host peers of a daemon join in no particular order).</summary>
    public static RingChannel OpenChannel(IvshmemEndpoint endpoint, ChildArgs a, RingChannelOptions options)
    {
        string peer = a.String("peer-name");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (endpoint.Region.Peers.FindByName(peer) is null)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"peer '{peer}' did not join the region within 30 s");
            Thread.Sleep(5);
        }
        return endpoint.OpenChannel(peer, options);
    }
}
