using Ivshmem.Ring;

namespace Ivshmem.Peer.Host;

/// <summary>The server broke the ivshmem protocol (docs/protocol.md, "QEMU's side"): the message, what
/// was expected, and everything received before it.</summary>
public sealed class HostPeerProtocolException : IvshmemException
{
    public HostPeerProtocolException(string message, IReadOnlyList<ServerMessage> received) : base(message) => Received = received;

    public IReadOnlyList<ServerMessage> Received { get; }
}

/// <summary>
/// The server refused this peer: instead of version 0 it sent a nonzero code (ivshmemd's way of
/// refusing without hanging QEMU; docs/protocol.md, "Refusal") and closed the connection.
/// </summary>
public sealed class ServerRefusedException : IvshmemException
{
    public ServerRefusedException(string socketPath, long code, IReadOnlyList<ServerMessage> trailing)
        : base($"{socketPath}: the server refused this peer with code {code} ({Describe(code)}); its log says why")
    {
        Code = code;
        TrailingMessages = trailing;
    }

    /// <summary>The refusal code (ivshmemd: 1 not admitted, 2 region full, 3 name in use, 4 no peer id
    /// left, 5 shutting down).</summary>
    public long Code { get; }

    /// <summary>Anything the server sent after the refusal and before closing (ivshmemd: nothing).</summary>
    public IReadOnlyList<ServerMessage> TrailingMessages { get; }

    public static string Describe(long code) => code switch
    {
        1 => "not admitted: not an allowed user, or neither a VM of the region nor one of its host users",
        2 => "the region is full (max_peers)",
        3 => "a peer with this name is already connected",
        4 => "the region has no peer id left",
        5 => "the region is going away or the daemon is stopping",
        _ => "an unknown reason (not an ivshmemd code)",
    };
}
