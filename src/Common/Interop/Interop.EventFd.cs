using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>eventfd(2): the doorbells. The daemon creates one per vector per peer and hands them out
/// (docs/protocol.md), VFIO signals an MSI-X vector on one, and the ring's waiters block on them.</summary>
internal static unsafe partial class Interop
{
    /// <summary>A non-blocking, close-on-exec eventfd, as the reference server creates them.</summary>
    internal static int EventFdCreate() => CheckIo(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");

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
}
