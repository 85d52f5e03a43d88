using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem.Bench.Native;

/// <summary>
/// The few syscalls the kernel transports need, called directly (as the paper's C programs did), so
/// the comparison is between transports and not between .NET stream wrappers. Every -1 becomes an
/// <see cref="IOException"/> naming the call and errno; EINTR is retried here.
/// </summary>
internal static unsafe class Posix
{
    private const int EINTR = 4;

    /// <summary>Pins the calling thread to <paramref name="cpu"/> (Tmds.LibC has no sched_setaffinity).</summary>
    public static void PinThisThread(int cpu)
    {
        ulong mask = 1UL << cpu;
        if (sched_setaffinity(0, sizeof(ulong), &mask) != 0) throw Error($"sched_setaffinity to CPU {cpu}");
    }

    /// <summary>An epoll instance watching <paramref name="fd"/> for input, edge-triggered (as the
    /// ring's <c>EventFdWaiter</c> watches its eventfds).</summary>
    public static int EpollEdgeTriggered(int fd)
    {
        int epoll = Check(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
        var ev = new epoll_event { events = EPOLLIN | EPOLLET };
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            IOException error = Error($"epoll_ctl adding fd {fd}");
            Close(epoll);
            throw error;
        }
        return epoll;
    }

    /// <summary>One epoll_wait for one event; false on timeout. EINTR is retried.</summary>
    public static bool EpollWaitOne(int epoll, int timeoutMs)
    {
        epoll_event ev;
        while (true)
        {
            int got = epoll_wait(epoll, &ev, 1, timeoutMs);
            if (got >= 0) return got == 1;
            if (Errno() != EINTR) throw Error($"epoll_wait on {epoll}");
        }
    }

    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    /// <summary>Writes all of <paramref name="data"/> to a blocking fd.</summary>
    public static void WriteAll(int fd, byte* data, long length)
    {
        while (length > 0)
        {
            long n = write(fd, data, (size_t)(ulong)length);
            if (n < 0)
            {
                if (Errno() == EINTR) continue;
                throw Error($"write to fd {fd}");
            }
            data += n;
            length -= n;
        }
    }

    /// <summary>One read of at most <paramref name="length"/> bytes; throws on end of file, which no
    /// transfer expects.</summary>
    public static int ReadSome(int fd, byte* buffer, int length)
    {
        while (true)
        {
            long n = read(fd, buffer, (size_t)(ulong)length);
            if (n > 0) return (int)n;
            if (n == 0) throw new EndOfStreamException($"fd {fd}: the other process closed its end");
            if (Errno() != EINTR) throw Error($"read from fd {fd}");
        }
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes.</summary>
    public static void ReadExactly(int fd, byte* buffer, int length)
    {
        while (length > 0)
        {
            int n = ReadSome(fd, buffer, length);
            buffer += n;
            length -= n;
        }
    }

    /// <summary>A pipe (read end, write end), close-on-exec; children get dups.</summary>
    public static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Check(pipe2(fds, O_CLOEXEC), "pipe2");
        return (fds[0], fds[1]);
    }

    /// <summary>A connected pair of UNIX stream sockets, close-on-exec.</summary>
    public static (int A, int B) UnixStreamPair()
    {
        int* fds = stackalloc int[2];
        Check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), "socketpair(AF_UNIX, SOCK_STREAM)");
        return (fds[0], fds[1]);
    }

    public static void SetTcpNoDelay(int fd)
    {
        int one = 1;
        Check(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, (socklen_t)sizeof(int)), "setsockopt(TCP_NODELAY)");
    }

    /// <summary>A new eventfd, close-on-exec and non-blocking (as the ring's waiter expects).</summary>
    public static int EventFd() => Check(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");

    /// <summary>A duplicate without close-on-exec: the number a child process inherits.</summary>
    public static int DupInheritable(int fd) => Check(dup(fd), $"dup({fd})");

    public static void Close(int fd)
    {
        if (fd >= 0) close(fd);
    }

    /// <summary>CPU time (user + system) of this whole process, all threads, so far.</summary>
    public static TimeSpan ProcessCpuTime()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>The calling thread's CPU time (exact), its user/system split and its voluntary context
    /// switches (<see cref="Children.ThreadUsage"/>).</summary>
    public static Children.ThreadUsage ThisThreadUsage()
    {
        const int CLOCK_THREAD_CPUTIME_ID = 3, RUSAGE_THREAD = 1;
        timespec cpu;
        Check(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu), "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        Rusage usage;
        Check(getrusage(RUSAGE_THREAD, &usage), "getrusage(RUSAGE_THREAD)");
        return new Children.ThreadUsage(
            (long)cpu.tv_sec * 1_000_000_000 + (long)cpu.tv_nsec,
            usage.UserSeconds * 1_000_000 + usage.UserMicroseconds,
            usage.SystemSeconds * 1_000_000 + usage.SystemMicroseconds,
            usage.VoluntarySwitches);
    }

    /// <summary>struct rusage on 64-bit Linux: two struct timevals, then fourteen longs.</summary>
    private struct Rusage
    {
        public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
        public long MaxRss, IxRss, IdRss, IsRss, MinorFaults, MajorFaults, Swaps, BlocksIn, BlocksOut;
        public long MessagesSent, MessagesReceived, Signals, VoluntarySwitches, InvoluntarySwitches;
    }

    [DllImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static extern int getrusage(int who, Rusage* usage);

    [DllImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static extern int clock_gettime(int clock, timespec* time);

    /// <summary>Faults every page of <paramref name="length"/> bytes at <paramref name="memory"/> in
    /// for writing without changing its content (MADV_POPULATE_WRITE, Linux 5.14), so page faults stay
    /// out of the timed loops; older kernels fall back to reading one byte per page.</summary>
    public static void Prefault(byte* memory, long length)
    {
        const int MADV_POPULATE_WRITE = 23;
        if (madvise(memory, (size_t)(ulong)length, MADV_POPULATE_WRITE) == 0) return;
        byte sink = 0;
        for (long i = 0; i < length; i += 4096) sink ^= Volatile.Read(ref memory[i]);
        GC.KeepAlive(sink);
    }

    private static int Check(int result, string what)
    {
        if (result == -1) throw Error(what);
        return result;
    }

    private static int Errno() => Marshal.GetLastPInvokeError();

    private static IOException Error(string what)
    {
        int errno = Errno();
        return new IOException($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }
}
