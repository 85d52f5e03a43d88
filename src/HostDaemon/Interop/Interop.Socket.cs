using System.Diagnostics;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>The credentials the kernel recorded for the other end of a UNIX socket (SO_PEERCRED).
/// Pid 0 means the peer lives in a PID namespace the daemon cannot see.</summary>
internal readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid);

/// <summary>What a non-blocking send of one protocol message did.</summary>
internal enum SendOutcome
{
    Sent,
    /// <summary>The socket buffer is full: wait for EPOLLOUT and send the same message again.</summary>
    WouldBlock,
    /// <summary>The peer is gone (EPIPE, ECONNRESET) or the socket failed: drop the connection.</summary>
    Failed,
}

/// <summary>AF_UNIX sockets, the server side: accepting region and control connections, sending the
/// protocol messages with SCM_RIGHTS (docs/protocol.md, "Transport and messages"), peer credentials,
/// and sd_notify datagrams. Addresses and SCM_RIGHTS blocks are built by
/// src/Common/Interop/Interop.UnixSocket.cs.</summary>
internal static unsafe partial class Interop
{
    internal static void Listen(int fd, int backlog, string path) => CheckIo(listen(fd, backlog), $"listen on {path}");

    /// <summary>Accepts one connection as a non-blocking, close-on-exec socket; -1 when none is
    /// waiting. Throws for real failures (EMFILE and friends), which the caller logs and survives.</summary>
    internal static int Accept(int listener)
    {
        while (true)
        {
            int fd = accept4(listener, null, null, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0) return fd;
            int errno = LastErrno();
            // ECONNABORTED: the client gave up while queued; the next one may be fine.
            if (errno is EINTR or ECONNABORTED) continue;
            if (errno == EAGAIN) return -1;
            throw ErrorFor(errno, "accept4");
        }
    }

    /// <summary>Connects a blocking socket to <paramref name="path"/>: 0 when something accepted the
    /// connection (it is closed again at once), else the errno (ECONNREFUSED: a stale socket file).</summary>
    internal static int ConnectProbe(string path)
    {
        int fd = SocketCreate(SOCK_STREAM, nonBlocking: false);
        try
        {
            return TryConnect(fd, path);
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>
    /// Sends one protocol message: the 8-byte little-endian <paramref name="value"/> and, when
    /// <paramref name="attachedFd"/> is not -1, that fd as SCM_RIGHTS in the same sendmsg (one fd per
    /// message, as QEMU expects; docs/protocol.md, "Message format"). Never blocks and never raises
    /// SIGPIPE.
    /// </summary>
    internal static SendOutcome SendMessage(int socketFd, long value, int attachedFd, out int errno)
    {
        Debug.Assert(BitConverter.IsLittleEndian, "the wire format is little-endian; so is x86-64 memory");
        long data = value;
        iovec iov = default;
        iov.iov_base = &data;
        iov.iov_len = 8;
        const int controlSpace = 24; // CMSG_SPACE(sizeof(int)) on x86-64
        byte* control = stackalloc byte[controlSpace];
        msghdr message = default;
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        if (attachedFd >= 0) AttachFds(&message, control, controlSpace, new ReadOnlySpan<int>(in attachedFd));
        while (true)
        {
            long n = sendmsg(socketFd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n == 8) { errno = 0; return SendOutcome.Sent; }
            if (n >= 0)
            {
                // A stream socket may in principle take part of a buffer; 8 bytes go in one skb, so
                // this does not happen, and if it did the stream would be out of frame: give up on it.
                errno = EPIPE;
                return SendOutcome.Failed;
            }
            errno = LastErrno();
            if (errno == EINTR) continue;
            return errno == EAGAIN ? SendOutcome.WouldBlock : SendOutcome.Failed;
        }
    }

    internal static PeerCredentials GetPeerCredentials(int fd)
    {
        ucred credentials = default;
        socklen_t length = (socklen_t)sizeof(ucred);
        CheckIo(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length), "getsockopt(SO_PEERCRED)");
        return new PeerCredentials(credentials.pid, credentials.uid, credentials.gid);
    }

    /// <summary>The supplementary groups of the peer as the kernel recorded them at connect
    /// (SO_PEERGROUPS, Linux 4.13); null when the kernel does not offer it.</summary>
    internal static uint[]? GetPeerGroups(int fd)
    {
        int capacity = 64;
        while (true)
        {
            uint[] groups = new uint[capacity];
            socklen_t length = (socklen_t)(capacity * sizeof(uint));
            fixed (uint* p = groups)
            {
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p, &length) == 0)
                    return groups.AsSpan(0, (int)(uint)length / sizeof(uint)).ToArray();
            }
            int errno = LastErrno();
            if (errno == ERANGE && (int)(uint)length > capacity * sizeof(uint)) { capacity = (int)(uint)length / sizeof(uint); continue; }
            if (errno is ENOPROTOOPT or EOPNOTSUPP) return null;
            throw ErrorFor(errno, "getsockopt(SO_PEERGROUPS)");
        }
    }

    /// <summary>The abstract address the peer bound its socket to before connecting, without the
    /// leading NUL; null when it bound none (or a filesystem path). A host peer names itself this way
    /// without sending a byte (docs/protocol.md, "Host peer names").</summary>
    internal static string? GetPeerAbstractName(int fd)
    {
        byte* address = stackalloc byte[SockaddrUnSize];
        socklen_t length = SockaddrUnSize;
        if (getpeername(fd, (sockaddr*)address, &length) != 0) return null;
        int len = (int)(uint)length;
        if (len <= SunPathOffset + 1 || address[SunPathOffset] != 0) return null;
        var name = new ReadOnlySpan<byte>(address + SunPathOffset + 1, len - SunPathOffset - 1);
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(name); }
        catch (DecoderFallbackException) { return null; }
    }

    /// <summary>What is waiting on a socket that became readable: the number of bytes (the peer
    /// sent data), 0 (end of file: the peer closed), or -errno.</summary>
    internal static int PeekPending(int fd)
    {
        byte* buffer = stackalloc byte[64];
        while (true)
        {
            long n = recv(fd, buffer, 64, MSG_PEEK | MSG_DONTWAIT);
            if (n >= 0) return (int)n;
            int errno = LastErrno();
            if (errno == EINTR) continue;
            return -errno;
        }
    }

    /// <summary>Whether <paramref name="fd"/> is an AF_UNIX stream socket (a restored peer connection).</summary>
    internal static bool IsUnixStreamSocket(int fd)
    {
        int type = 0;
        socklen_t length = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) return false;
        return type == SOCK_STREAM;
    }

    /// <summary>Sets a send timeout on a blocking socket, so a stuck reader cannot hang the sender forever.</summary>
    internal static void SetSendTimeout(int fd, TimeSpan timeout)
    {
        long* tv = stackalloc long[2];
        tv[0] = (long)timeout.TotalSeconds;
        tv[1] = (long)(timeout.TotalMicroseconds % 1_000_000);
        CheckIo(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, 16), "setsockopt(SO_SNDTIMEO)");
    }

    /// <summary>
    /// Writes <paramref name="data"/> to the connected stream socket <paramref name="fd"/> in one
    /// sendmsg, with <paramref name="attachedFd"/> as SCM_RIGHTS (QMP's getfd takes the fd that came
    /// with its command). Returns 0 or the errno; a partial write is EPIPE (the stream is then out of
    /// step). EAGAIN is returned as is: the caller's socket may be non-blocking.
    /// </summary>
    internal static int SendWithFd(int fd, ReadOnlySpan<byte> data, int attachedFd)
    {
        const int controlSpace = 24; // CMSG_SPACE(sizeof(int)) on x86-64
        byte* control = stackalloc byte[controlSpace];
        fixed (byte* payload = data)
        {
            iovec iov = default;
            iov.iov_base = payload;
            iov.iov_len = (size_t)(ulong)data.Length;
            msghdr message = default;
            message.msg_iov = &iov;
            message.msg_iovlen = 1;
            AttachFds(&message, control, controlSpace, new ReadOnlySpan<int>(in attachedFd));
            while (true)
            {
                long n = sendmsg(fd, &message, MSG_NOSIGNAL);
                if (n == data.Length) return 0;
                if (n >= 0) return EPIPE;
                int errno = LastErrno();
                if (errno != EINTR) return errno;
            }
        }
    }

    /// <summary>
    /// Sends one datagram to <paramref name="path"/> (a leading '@' means the abstract namespace, as in
    /// $NOTIFY_SOCKET) with <paramref name="fds"/> attached as one SCM_RIGHTS block. Returns 0 or the errno.
    /// </summary>
    internal static int SendDatagram(int fd, string path, ReadOnlySpan<byte> data, ReadOnlySpan<int> fds, bool dontWait)
    {
        byte* address = stackalloc byte[SockaddrUnSize];
        int addressLength = FillAddress(address, path);
        int controlSpace = fds.Length == 0 ? 0 : CMSG_SPACE(fds.Length * sizeof(int));
        byte* control = stackalloc byte[Math.Max(controlSpace, 1)];
        fixed (byte* payload = data)
        {
            iovec iov = default;
            iov.iov_base = payload;
            iov.iov_len = (size_t)(ulong)data.Length;
            msghdr message = default;
            message.msg_name = address;
            message.msg_namelen = (socklen_t)addressLength;
            message.msg_iov = &iov;
            message.msg_iovlen = 1;
            if (fds.Length > 0) AttachFds(&message, control, controlSpace, fds);
            while (true)
            {
                long n = sendmsg(fd, &message, MSG_NOSIGNAL | (dontWait ? MSG_DONTWAIT : 0));
                if (n >= 0) return 0;
                int errno = LastErrno();
                if (errno != EINTR) return errno;
            }
        }
    }
}
