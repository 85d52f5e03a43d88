using Ivshmem.Guest;

namespace Ivshmem.Agent.Cli;

/// <summary>Host-peer mode (--socket): the region through ivshmemd's socket, as QEMU gets it. Uses the
/// HostPeer client of the guest library.</summary>
internal static class HostPeerEndpoint
{
    public static IvshmemEndpoint Connect(string socketPath, string? name, Action<string> log) =>
        throw new IvshmemDeviceException($"host-peer mode (--socket {socketPath}) is not available in this build: the HostPeer client is missing");
}
