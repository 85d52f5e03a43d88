using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>AF_UNIX stream sockets, the client side: connecting to an ivshmemd region socket the way
/// QEMU's chardev does, and receiving its 8-byte messages with SCM_RIGHTS fds (docs/protocol.md,
/// "Transport and messages"). Addresses and SCM_RIGHTS blocks are built by
/// src/Common/Interop/Interop.UnixSocket.cs.</summary>
internal static unsafe partial class Interop
{
    /// <summary>One recvmsg: how many bytes arrived, the first fd that came with them (-1 if none),
    /// how many more fds came (already closed: a message carries at most one), and whether the kernel
    /// had to drop fds because the control buffer was too small (MSG_CTRUNC; they are lost).</summary>
    internal readonly record struct ReceiveResult(int Bytes, int Fd, int ExtraFds, bool ControlTruncated);

    /// <summary>A blocking, close-on-exec AF_UNIX stream socket.</summary>
    internal static int UnixStreamSocket() => SocketCreate(SOCK_STREAM, nonBlocking: false);

    /// <summary>Connects <paramref name="fd"/> to the socket file <paramref name="path"/>; a failure
    /// says what it most likely means for a host peer.</summary>
    internal static void Connect(int fd, string path)
    {
        int errno = TryConnect(fd, path);
        if (errno == 0) return;
        string hint = errno == ENOENT ? " (is ivshmemd running, and is this the region's socket?)"
            : errno == ECONNREFUSED ? " (a stale socket file: nothing listens on it)"
            : errno == EACCES ? " (the socket's mode or group does not let this user connect)" : "";
        throw new IOException(ErrorFor(errno, $"connect to {path}").Message + hint) { HResult = errno };
    }

    /// <summary>
    /// Receives up to <paramref name="buffer"/>.Length bytes, with room for several fds so that a
    /// misbehaving server's extra fds are seen (and closed) rather than silently truncated. Received
    /// fds are close-on-exec. Returns 0 bytes at end of file.
    /// </summary>
    internal static ReceiveResult Receive(int fd, Span<byte> buffer)
    {
        const int maxFds = 16;
        int controlSpace = CMSG_SPACE(maxFds * sizeof(int));
        byte* control = stackalloc byte[controlSpace];
        fixed (byte* data = buffer)
        {
            iovec iov = default;
            iov.iov_base = data;
            iov.iov_len = (size_t)(ulong)buffer.Length;
            while (true)
            {
                new Span<byte>(control, controlSpace).Clear();
                msghdr message = default;
                message.msg_iov = &iov;
                message.msg_iovlen = 1;
                message.msg_control = control;
                message.msg_controllen = (socklen_t)controlSpace;
                long n = recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
                if (n < 0)
                {
                    int errno = LastErrno();
                    if (errno == EINTR) continue;
                    throw ErrorFor(errno, "recvmsg from the server");
                }
                int first = TakeFirstFd(&message, out int extra);
                return new ReceiveResult((int)n, first, extra, (message.msg_flags & MSG_CTRUNC) != 0);
            }
        }
    }

    /// <summary>What an fd is, for recorded messages: the target of /proc/self/fd/N, e.g.
    /// "anon_inode:[eventfd]" or "/memfd:ivshmemd-demo (deleted)".</summary>
    internal static string DescribeFd(int fd)
    {
        try { return new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "?"; }
        catch (IOException) { return "?"; }
    }
}
