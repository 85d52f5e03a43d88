using Ivshmem.Peer;
using Ivshmem.Peer.Host;

namespace Ivshmem.Agent.Cli;

/// <summary>Host-peer mode (--socket): the region through ivshmemd's socket, as QEMU gets it, with
/// the library's <see cref="HostPeer"/> client.</summary>
internal static class HostPeerEndpoint
{
    public static IvshmemEndpoint Connect(string socketPath, string? name, int vectors, Action<string> log)
    {
        HostPeer peer = HostPeer.Connect(socketPath, new HostPeerOptions { Name = name, Vectors = vectors });
        log($"joined the region at {socketPath} as '{peer.Self.Name}' (id {peer.OwnId})");
        return peer;
    }
}
