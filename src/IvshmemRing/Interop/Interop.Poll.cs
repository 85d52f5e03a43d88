using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem.Ring;

internal static unsafe partial class Interop
{
    internal static int EventFdCreate(bool nonBlocking) =>
        CheckIo(eventfd(0, EFD_CLOEXEC | (nonBlocking ? EFD_NONBLOCK : 0)), "eventfd");

    /// <summary>Adds 1 to the eventfd's counter: one doorbell. A full counter (EAGAIN) is a doorbell
    /// already pending, which is all a doorbell means.</summary>
    internal static void EventFdSignal(int fd)
    {
        ulong one = 1;
        while (true)
        {
            long n = write(fd, &one, 8);
            if (n == 8) return;
            int errno = LastErrno();
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            throw ErrorFor(errno, $"write to eventfd {fd}");
        }
    }

    /// <summary>Reads and clears a non-blocking eventfd; returns the counter (0 when it was clear).</summary>
    internal static ulong EventFdDrain(int fd)
    {
        ulong value;
        while (true)
        {
            long n = read(fd, &value, 8);
            if (n == 8) return value;
            int errno = LastErrno();
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 0;
            throw ErrorFor(errno, $"read from eventfd {fd}");
        }
    }

    internal const short POLLIN_ = 0x001;
    internal const short POLLERR_ = 0x008;
    internal const short POLLHUP_ = 0x010;
    internal const short POLLNVAL_ = 0x020;

    /// <summary>poll(2) on <paramref name="fds"/> for input; returns the number ready, 0 on timeout.
    /// EINTR is retried (with the full timeout again; callers loop on their own deadlines).</summary>
    internal static int PollIn(Span<pollfd> fds, int timeoutMs)
    {
        for (int i = 0; i < fds.Length; i++) { fds[i].events = POLLIN_; fds[i].revents = 0; }
        fixed (pollfd* p = fds)
        {
            while (true)
            {
                int r = poll(p, (ulong_t)(ulong)fds.Length, timeoutMs);
                if (r >= 0) return r;
                // poll is declared without SetLastError in Tmds.LibC: read errno directly.
                int errno = Marshal.GetLastSystemError();
                if (errno != EINTR) throw ErrorFor(errno, "poll");
            }
        }
    }
}
