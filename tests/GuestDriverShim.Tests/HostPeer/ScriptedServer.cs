using System.Runtime.InteropServices;
using System.Text;
using Ivshmem.Ring;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem.Peer.Tests.HostPeer;

/// <summary>
/// A server that says exactly what a test scripts, right or wrong, to check that the host-peer client
/// accepts what ivshmemd and QEMU's reference server send and rejects everything else. It formats a
/// real memfd region and makes real eventfds; messages go out one sendmsg each, as on the wire.
/// </summary>
internal sealed unsafe class ScriptedServer : IDisposable
{
    private readonly int _listener;
    private readonly List<int> _fds = [];
    private int _client = -1;

    public ScriptedServer(string directory, int slots = 4)
    {
        SocketPath = Path.Combine(directory, "s.sock");
        MemoryHandle = Memfd.Create("scripted", 1 << 20);
        Mapping = MappedMemory.MapFile(MemoryFd);
        Region = Region.Format(Mapping.Memory, slots);
        _listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        byte* address = Address(SocketPath, out int length);
        if (bind(_listener, (sockaddr*)address, length) != 0 || listen(_listener, 4) != 0)
            throw new IOException($"bind/listen {SocketPath}: errno {Marshal.GetLastPInvokeError()}");
    }

    public string SocketPath { get; }
    public SafeFileHandle MemoryHandle { get; }
    public int MemoryFd => (int)MemoryHandle.DangerousGetHandle();
    public MappedMemory Mapping { get; }
    public Region Region { get; }

    /// <summary>A fresh eventfd (owned by the server).</summary>
    public int EventFd()
    {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        _fds.Add(fd);
        return fd;
    }

    /// <summary>Accepts the client (blocking; the client connects in the background).</summary>
    public void Accept()
    {
        _client = accept4(_listener, null, null, SOCK_CLOEXEC);
        if (_client < 0) throw new IOException($"accept: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>The abstract address the client bound to, as the daemon reads it.</summary>
    public string? ClientAbstractName()
    {
        byte* address = stackalloc byte[110];
        socklen_t length = 110;
        if (getpeername(_client, (sockaddr*)address, &length) != 0) return null;
        int len = (int)(uint)length;
        return len > 3 && address[2] == 0 ? Encoding.UTF8.GetString(address + 3, len - 3) : null;
    }

    /// <summary>Sends one message with zero, one or more fds in one sendmsg.</summary>
    public void Send(long value, params int[] fds)
    {
        long data = value;
        iovec iov = default;
        iov.iov_base = &data;
        iov.iov_len = 8;
        int space = fds.Length == 0 ? 0 : CMSG_SPACE(fds.Length * sizeof(int));
        byte* control = stackalloc byte[Math.Max(space, 1)];
        msghdr message = default;
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        if (fds.Length > 0)
        {
            new Span<byte>(control, space).Clear();
            message.msg_control = control;
            message.msg_controllen = space;
            cmsghdr* header = CMSG_FIRSTHDR(&message);
            header->cmsg_len = sizeof(cmsghdr) + fds.Length * sizeof(int); // C's CMSG_LEN, unpadded
            header->cmsg_level = SOL_SOCKET;
            header->cmsg_type = SCM_RIGHTS;
            fds.CopyTo(new Span<int>(CMSG_DATA(header), fds.Length));
        }
        if (sendmsg(_client, &message, MSG_NOSIGNAL) != 8) throw new IOException($"sendmsg: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>A well-formed handshake for a client with <paramref name="id"/>, after the given other
    /// peers, with <paramref name="vectors"/> eventfds each; returns the client's own eventfds.</summary>
    public int[] SendHandshake(int id, int vectors, params int[] others)
    {
        Send(0);
        Send(id);
        Send(-1, MemoryFd);
        foreach (int other in others)
            for (int v = 0; v < vectors; v++) Send(other, EventFd());
        int[] own = Enumerable.Range(0, vectors).Select(_ => EventFd()).ToArray();
        foreach (int fd in own) Send(id, fd);
        return own;
    }

    /// <summary>Ends the connection (the client sees end of file).</summary>
    public void CloseClient()
    {
        close(_client);
        _client = -1;
    }

    public void Dispose()
    {
        if (_client >= 0) close(_client);
        close(_listener);
        foreach (int fd in _fds) close(fd);
        Mapping.Dispose();
        MemoryHandle.Dispose();
    }

    private static byte* Address(string path, out int length)
    {
        byte* address = (byte*)NativeMemory.AllocZeroed(110);
        *(ushort*)address = (ushort)AF_UNIX;
        int n = Encoding.UTF8.GetBytes(path, new Span<byte>(address + 2, 107));
        length = 2 + n + 1;
        return address;
    }
}
