using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>Direct looks at fds, to check what the daemon handed out with the kernel's own answers.</summary>
internal static unsafe class NativeFds
{
    public const int F_SEAL_SEAL_ = 0x0001;
    public const int F_SEAL_SHRINK_ = 0x0002;
    public const int F_SEAL_GROW_ = 0x0004;

    /// <summary>Reads and clears a non-blocking eventfd: its counter, 0 when nothing was written.</summary>
    public static ulong ReadEventFd(int fd)
    {
        ulong value;
        long n = read(fd, &value, 8);
        if (n == 8) return value;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == EAGAIN) return 0;
        throw new IOException($"read eventfd {fd}: errno {errno}");
    }

    public static void WriteEventFd(int fd, ulong value = 1)
    {
        if (write(fd, &value, 8) != 8) throw new IOException($"write eventfd {fd}: errno {Marshal.GetLastPInvokeError()}");
    }

    public static int Seals(int fd)
    {
        int seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0) throw new IOException($"F_GET_SEALS on fd {fd}: errno {Marshal.GetLastPInvokeError()}");
        return seals;
    }

    /// <summary>Tries to change the size of the file behind <paramref name="fd"/>; returns the errno (0 = it worked).</summary>
    public static int TryTruncate(int fd, long size) => ftruncate(fd, size) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>The size of the file behind <paramref name="fd"/> (fstat).</summary>
    public static long FileSize(int fd)
    {
        Tmds.Linux.stat st;
        if (fstat(fd, &st) != 0) throw new IOException($"fstat fd {fd}: errno {Marshal.GetLastSystemError()}");
        return st.st_size;
    }

    /// <summary>The open fds of this process, as /proc/self/fd lists them.</summary>
    public static int CountOpen() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>The open fds of process <paramref name="pid"/>.</summary>
    public static int CountOpen(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;
}
