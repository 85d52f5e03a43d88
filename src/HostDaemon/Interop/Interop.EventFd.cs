using static Tmds.Linux.LibC;

namespace Ivshmem.Daemon;

/// <summary>eventfd(2): one per vector per peer, the doorbells the daemon hands out (protocol doc 1.3).</summary>
internal static unsafe partial class Interop
{
    /// <summary>A non-blocking, close-on-exec eventfd, as the reference server creates them.</summary>
    internal static int EventFdCreate() => CheckIo(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");

    /// <summary>Adds 1 to the counter: one doorbell. A full counter (EAGAIN) already means "rung".</summary>
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

    /// <summary>Reads and clears a non-blocking eventfd; 0 when it was clear.</summary>
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
