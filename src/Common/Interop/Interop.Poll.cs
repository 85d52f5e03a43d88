using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>poll(2): waiting on a few fds at once for a moment, level-triggered. The ring's waiters
/// sleep in epoll instead (Interop.Epoll.cs, docs/ring.md "The wake-up path").</summary>
internal static unsafe partial class Interop
{
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

    /// <summary>Waits until one of <paramref name="fds"/> is readable (or hung up); returns the index,
    /// or -1 on timeout (negative <paramref name="timeoutMs"/>: no timeout).</summary>
    internal static int WaitReadable(ReadOnlySpan<int> fds, int timeoutMs)
    {
        Span<pollfd> polls = stackalloc pollfd[fds.Length];
        for (int i = 0; i < fds.Length; i++) polls[i].fd = fds[i];
        if (PollIn(polls, timeoutMs < 0 ? -1 : timeoutMs) == 0) return -1;
        for (int i = 0; i < fds.Length; i++)
            if (polls[i].revents != 0) return i;
        return -1;
    }
}
