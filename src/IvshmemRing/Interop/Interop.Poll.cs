using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>poll(2): how the ring's waiters sleep on several eventfds at once.</summary>
internal static unsafe partial class Interop
{
    internal const short POLLIN_ = 0x001;
    internal const short POLLERR_ = 0x008;
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
