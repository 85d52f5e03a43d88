using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>AF_UNIX stream sockets for host peers: connecting to an ivshmemd region socket the way
/// QEMU's chardev does, and receiving its 8-byte messages with SCM_RIGHTS fds (protocol doc 1.1-1.2).</summary>
internal static unsafe partial class Interop
{
    private const int SockaddrUnSize = 110;
    private const int MaxSunPath = 108;

    /// <summary>One recvmsg: how many bytes arrived, the first fd that came with them (-1 if none),
    /// how many more fds came (already closed: a message carries at most one), and whether the kernel
    /// had to drop fds because the control buffer was too small (MSG_CTRUNC; they are lost).</summary>
    internal readonly record struct ReceiveResult(int Bytes, int Fd, int ExtraFds, bool ControlTruncated);

    /// <summary>A blocking, close-on-exec AF_UNIX stream socket.</summary>
    internal static int UnixStreamSocket() => CheckIo(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_STREAM)");

    /// <summary>Binds <paramref name="fd"/> to the abstract address <paramref name="name"/> (no file
    /// is created; the name is unique while the socket lives).</summary>
    internal static void BindAbstract(int fd, string name)
    {
        byte* address = stackalloc byte[SockaddrUnSize];
        new Span<byte>(address, SockaddrUnSize).Clear();
        *(ushort*)address = (ushort)AF_UNIX;
        int bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes == 0 || bytes > MaxSunPath - 1) throw new ArgumentException($"abstract socket name '{name}' is {bytes} bytes; at most {MaxSunPath - 1} fit", nameof(name));
        Encoding.UTF8.GetBytes(name, new Span<byte>(address + 3, bytes));
        CheckIo(bind(fd, (sockaddr*)address, (socklen_t)(3 + bytes)), $"bind to abstract address '{name}'");
    }

    /// <summary>Connects <paramref name="fd"/> to the socket file <paramref name="path"/>.</summary>
    internal static void Connect(int fd, string path)
    {
        byte* address = stackalloc byte[SockaddrUnSize];
        new Span<byte>(address, SockaddrUnSize).Clear();
        *(ushort*)address = (ushort)AF_UNIX;
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes == 0 || bytes > MaxSunPath - 1) throw new ArgumentException($"socket path '{path}' is {bytes} bytes; a UNIX socket path holds 1..{MaxSunPath - 1}", nameof(path));
        Encoding.UTF8.GetBytes(path, new Span<byte>(address + 2, bytes));
        while (true)
        {
            if (connect(fd, (sockaddr*)address, (socklen_t)(2 + bytes + 1)) == 0) return;
            int errno = LastErrno();
            if (errno == EINTR) continue;
            string hint = errno == ENOENT ? " (is ivshmemd running, and is this the region's socket?)"
                : errno == ECONNREFUSED ? " (a stale socket file: nothing listens on it)"
                : errno == EACCES ? " (the socket's mode or group does not let this user connect)" : "";
            throw new IOException(ErrorFor(errno, $"connect to {path}").Message + hint) { HResult = errno };
        }
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
                int first = -1, extra = 0;
                for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != null; c = CMSG_NXTHDR(&message, c))
                {
                    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
                    // The data follows the header unpadded (C's CMSG_LEN; Tmds.LibC's CMSG_LEN pads).
                    int count = ((int)c->cmsg_len - sizeof(cmsghdr)) / sizeof(int);
                    int* fds = (int*)CMSG_DATA(c);
                    for (int i = 0; i < count; i++)
                    {
                        if (first < 0) first = fds[i];
                        else { close(fds[i]); extra++; }
                    }
                }
                return new ReceiveResult((int)n, first, extra, (message.msg_flags & MSG_CTRUNC) != 0);
            }
        }
    }

    /// <summary>Waits until one of <paramref name="fds"/> is readable (or hung up); returns the index,
    /// or -1 on timeout. EINTR restarts the wait with what is left of the timeout.</summary>
    internal static int WaitReadable(ReadOnlySpan<int> fds, int timeoutMs)
    {
        Span<pollfd> polls = stackalloc pollfd[fds.Length];
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            for (int i = 0; i < fds.Length; i++) { polls[i].fd = fds[i]; polls[i].events = 1 /* POLLIN */; polls[i].revents = 0; }
            int wait = timeoutMs < 0 ? -1 : (int)Math.Clamp(deadline - Environment.TickCount64, 0, int.MaxValue);
            int r;
            fixed (pollfd* p = polls) r = poll(p, (ulong_t)(ulong)fds.Length, wait);
            if (r < 0)
            {
                // poll is declared without SetLastError in Tmds.LibC: read errno directly.
                int errno = Marshal.GetLastSystemError();
                if (errno == EINTR) continue;
                throw ErrorFor(errno, "poll");
            }
            if (r == 0) return -1;
            for (int i = 0; i < fds.Length; i++)
                if (polls[i].revents != 0) return i;
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
