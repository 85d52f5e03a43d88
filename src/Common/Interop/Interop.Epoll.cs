using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>epoll(7): the daemon's one event loop (no select, so no FD_SETSIZE limit), and the ring's
/// waiters, which sleep on their doorbells edge-triggered (docs/ring.md, "The wake-up path").</summary>
internal static unsafe partial class Interop
{
    internal static int EpollCreate() => CheckIo(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");

    internal static void EpollAdd(int epfd, int fd, uint events, ulong token) => EpollControl(epfd, EPOLL_CTL_ADD, fd, events, token, "EPOLL_CTL_ADD");

    internal static void EpollModify(int epfd, int fd, uint events, ulong token) => EpollControl(epfd, EPOLL_CTL_MOD, fd, events, token, "EPOLL_CTL_MOD");

    /// <summary>Removes <paramref name="fd"/>; an fd that is not registered (ENOENT) or already closed
    /// (EBADF) is not an error here: removal is part of idempotent teardown.</summary>
    internal static void EpollRemove(int epfd, int fd)
    {
        epoll_event ev = default;
        if (epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev) == 0) return;
        int errno = LastErrno();
        if (errno is ENOENT or EBADF) return;
        throw ErrorFor(errno, $"EPOLL_CTL_DEL of fd {fd}");
    }

    /// <summary>Waits for events; returns how many were written to <paramref name="events"/>, 0 on
    /// timeout or EINTR (the caller's loop comes round again).</summary>
    internal static int EpollWait(int epfd, epoll_event* events, int capacity, int timeoutMs)
    {
        int n = epoll_wait(epfd, events, capacity, timeoutMs);
        if (n >= 0) return n;
        int errno = LastErrno();
        if (errno == EINTR) return 0;
        throw ErrorFor(errno, "epoll_wait");
    }

    private static void EpollControl(int epfd, int op, int fd, uint events, ulong token, string what)
    {
        epoll_event ev = default;
        ev.events = (int)events;
        ev.data.u64 = token;
        CheckIo(epoll_ctl(epfd, op, fd, &ev), $"{what} of fd {fd}");
    }

    // The event bits (sys/epoll.h; SystemHeaderTests proves them), named with a trailing _ so they
    // do not clash with Tmds.LibC's own.
    internal const uint EPOLLIN_ = 0x001;
    internal const uint EPOLLOUT_ = 0x004;
    internal const uint EPOLLERR_ = 0x008;
    internal const uint EPOLLHUP_ = 0x010;
    internal const uint EPOLLRDHUP_ = 0x2000;
    internal const uint EPOLLET_ = 1u << 31;
}
