namespace Ivshmem.Peer.Host;

/// <summary>
/// One 8-byte message from the server as received (docs/protocol.md, "Message format"), for tests and
/// debugging.
/// </summary>
/// <param name="Value">The little-endian int64: 0 version, an id, -1 memory, or a refusal code.</param>
/// <param name="FdTarget">What the fd that came with it is (/proc/self/fd link target, e.g.
/// "anon_inode:[eventfd]" or "/memfd:ivshmemd-demo (deleted)"); null when none came.</param>
/// <param name="ExtraFds">Further fds in the same recvmsg (closed; a message carries at most one).</param>
public readonly record struct ServerMessage(long Value, string? FdTarget, int ExtraFds = 0)
{
    public bool HasFd => FdTarget is not null;

    public bool IsEventFd => FdTarget == "anon_inode:[eventfd]";

    public override string ToString() => HasFd ? $"{Value} + fd ({FdTarget})" : Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
