using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>
/// AF_UNIX sockets as both ends of the ivshmem protocol use them (docs/protocol.md, "Transport and
/// messages"): addresses (a path, or '@name' for the abstract namespace), and fds carried as SCM_RIGHTS.
/// The daemon adds its server-side calls (Interop.Socket.cs in src/HostDaemon), the host peer its
/// client-side ones (Interop.Socket.cs in src/GuestDriverShim/Peer).
/// </summary>
internal static unsafe partial class Interop
{
    /// <summary>sizeof(struct sockaddr_un) on Linux.</summary>
    internal const int SockaddrUnSize = 110;

    /// <summary>offsetof(struct sockaddr_un, sun_path).</summary>
    internal const int SunPathOffset = 2;

    /// <summary>sun_path holds 108 bytes: 107 for a path and its NUL.</summary>
    internal const int MaxSocketPathBytes = 107;

    /// <summary>A close-on-exec AF_UNIX socket of <paramref name="type"/> (SOCK_STREAM, SOCK_DGRAM).</summary>
    internal static int SocketCreate(int type, bool nonBlocking) =>
        CheckIo(socket(AF_UNIX, type | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0), 0), "socket(AF_UNIX)");

    /// <summary>Binds <paramref name="fd"/> to <paramref name="path"/> ('@name': the abstract name, which
    /// creates no file and is unique while the socket lives).</summary>
    internal static void Bind(int fd, string path)
    {
        byte* address = stackalloc byte[SockaddrUnSize];
        int length = FillAddress(address, path);
        CheckIo(bind(fd, (sockaddr*)address, (socklen_t)length), $"bind {path}");
    }

    /// <summary>Connects <paramref name="fd"/> to <paramref name="path"/>; returns 0 or the errno
    /// (ENOENT: no such socket; ECONNREFUSED: nothing listens on it). EINTR is retried.</summary>
    internal static int TryConnect(int fd, string path)
    {
        byte* address = stackalloc byte[SockaddrUnSize];
        int length = FillAddress(address, path);
        while (true)
        {
            if (connect(fd, (sockaddr*)address, (socklen_t)length) == 0) return 0;
            int errno = LastErrno();
            if (errno != EINTR) return errno;
        }
    }

    /// <summary>
    /// C's CMSG_LEN: header plus data, unpadded. Tmds.LibC 0.5.0's CMSG_LEN pads to 8 bytes (it equals
    /// CMSG_SPACE), so for one fd the kernel would read the 4 padding bytes as a second fd: fd 0 of this
    /// process would go out with every message.
    /// </summary>
    internal static int CmsgLen(int dataLength) => sizeof(cmsghdr) + dataLength;

    /// <summary>Puts <paramref name="fds"/> into <paramref name="message"/> as one SCM_RIGHTS block, in
    /// <paramref name="control"/> (at least CMSG_SPACE(fds.Length * sizeof(int)) bytes).</summary>
    internal static void AttachFds(msghdr* message, byte* control, int controlSpace, ReadOnlySpan<int> fds)
    {
        new Span<byte>(control, controlSpace).Clear();
        message->msg_control = control;
        message->msg_controllen = (socklen_t)controlSpace;
        cmsghdr* header = CMSG_FIRSTHDR(message);
        header->cmsg_len = CmsgLen(fds.Length * sizeof(int));
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        fds.CopyTo(new Span<int>(CMSG_DATA(header), fds.Length));
    }

    /// <summary>Takes the fds that came with a received <paramref name="message"/>: returns the first
    /// (-1 if none) and closes every other one at once, counting them in <paramref name="extra"/>
    /// (a protocol message carries at most one fd; more is the sender's mistake, never a leak here).</summary>
    internal static int TakeFirstFd(msghdr* message, out int extra)
    {
        int first = -1;
        extra = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(message); c != null; c = CMSG_NXTHDR(message, c))
        {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            // The data follows the header unpadded (C's CMSG_LEN; see CmsgLen).
            int count = ((int)c->cmsg_len - sizeof(cmsghdr)) / sizeof(int);
            int* fds = (int*)CMSG_DATA(c);
            for (int i = 0; i < count; i++)
            {
                if (first < 0) first = fds[i];
                else { close(fds[i]); extra++; }
            }
        }
        return first;
    }

    /// <summary>Writes a sockaddr_un for <paramref name="path"/> ('@' = abstract) and returns its length.</summary>
    internal static int FillAddress(byte* address, string path)
    {
        new Span<byte>(address, SockaddrUnSize).Clear();
        *(ushort*)address = (ushort)AF_UNIX;
        bool isAbstract = path.StartsWith('@');
        string name = isAbstract ? path[1..] : path;
        int bytes = Encoding.UTF8.GetByteCount(name);
        // Either way 107 bytes fit: a path and its NUL, or the leading NUL and the abstract name.
        if (bytes == 0 || bytes > MaxSocketPathBytes)
            throw new ArgumentException($"socket path '{path}' is {bytes} bytes; a UNIX socket path holds 1..{MaxSocketPathBytes}", nameof(path));
        int offset = SunPathOffset + (isAbstract ? 1 : 0);
        Encoding.UTF8.GetBytes(name, new Span<byte>(address + offset, bytes));
        // A path is NUL-terminated (and the NUL counted, as glibc's SUN_LEN does); an abstract name is
        // exactly its bytes.
        return isAbstract ? offset + bytes : offset + bytes + 1;
    }
}
