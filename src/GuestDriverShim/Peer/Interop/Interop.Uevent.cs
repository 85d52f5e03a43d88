using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

#pragma warning disable CS8981 // the struct's name is the kernel header's own (sockaddr_nl), so the proof can name it

namespace Ivshmem;

/// <summary>
/// Kernel uevents (linux/netlink.h): a netlink socket of protocol NETLINK_KOBJECT_UEVENT bound to
/// multicast group 1 receives one datagram per event, "ACTION@DEVPATH" and then NUL-separated
/// KEY=VALUE strings (docs/guest.md, "When the device comes and goes"). Parsing is
/// <c>Guest/Hotplug/Uevent.cs</c>; <c>KernelHeaderTests</c> proves the numbers and the layout.
/// </summary>
internal static unsafe partial class Interop
{
    internal const int NETLINK_KOBJECT_UEVENT = 15;

    /// <summary>The multicast group the kernel sends its own uevents to (udev re-broadcasts on 2).</summary>
    internal const int UeventKernelGroup = 1;

    /// <summary>A netlink socket's buffer overflowed: events were dropped.</summary>
    internal const int ENOBUFS = 105;

    /// <summary>A non-blocking, close-on-exec uevent socket bound to the kernel's group, with a
    /// receive buffer of <paramref name="receiveBuffer"/> bytes (a burst of events on a busy
    /// machine overflows the default; an overflow is ENOBUFS on the next receive).</summary>
    internal static int UeventOpen(int receiveBuffer)
    {
        int fd = CheckIo(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT), "socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT)");
        try
        {
            int size = receiveBuffer;
            // SO_RCVBUFFORCE passes rmem_max as root; without root SO_RCVBUF gets what it may.
            if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(int)) != 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(int));
            var address = new sockaddr_nl { nl_family = (ushort)AF_NETLINK, nl_groups = UeventKernelGroup };
            CheckIo(bind(fd, (sockaddr*)&address, (socklen_t)sizeof(sockaddr_nl)), "bind(NETLINK_KOBJECT_UEVENT, group 1)");
            return fd;
        }
        catch
        {
            close(fd);
            throw;
        }
    }

    /// <summary>
    /// Receives one datagram without waiting. Returns its full length (which may be more than
    /// <paramref name="buffer"/> holds: MSG_TRUNC says how long it was), 0 when none is queued, or
    /// -ENOBUFS when the kernel dropped events because the buffer was full. <paramref name="senderPort"/>
    /// is the sender's netlink port: 0 for the kernel.
    /// </summary>
    internal static int UeventReceive(int fd, Span<byte> buffer, out uint senderPort)
    {
        var from = new sockaddr_nl();
        fixed (byte* p = buffer)
        {
            while (true)
            {
                socklen_t length = (socklen_t)sizeof(sockaddr_nl);
                long n = recvfrom(fd, p, (size_t)(ulong)buffer.Length, MSG_DONTWAIT | MSG_TRUNC, (sockaddr*)&from, &length);
                if (n >= 0)
                {
                    senderPort = from.nl_pid;
                    return (int)Math.Min(n, int.MaxValue);
                }
                int errno = LastErrno();
                senderPort = 0;
                if (errno == EAGAIN) return 0;
                if (errno == ENOBUFS) return -ENOBUFS;
                if (errno != EINTR) throw ErrorFor(errno, "receive a uevent");
            }
        }
    }
}
