using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>Plain file descriptors: device nodes, sysfs resource files, /dev/mem.</summary>
internal static unsafe partial class Interop
{
    /// <summary>Opens <paramref name="path"/> read-write (close-on-exec), optionally with O_SYNC
    /// (which /dev/mem turns into an uncached mapping); EINTR is retried.</summary>
    internal static int OpenReadWrite(string path, bool sync = false)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        int flags = O_RDWR | O_CLOEXEC | (sync ? O_SYNC : 0);
        fixed (byte* p = bytes)
        {
            while (true)
            {
                int fd = open(p, flags, 0);
                if (fd >= 0) return fd;
                int errno = LastErrno();
                if (errno != EINTR) throw ErrorFor(errno, $"open {path}");
            }
        }
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>;
    /// a short read is an error (device regions have fixed sizes).</summary>
    internal static void PReadExactly(int fd, Span<byte> buffer, long offset, string what)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = pread(fd, p, (size_t)(ulong)buffer.Length, (off_t)offset);
                if (n == buffer.Length) return;
                if (n >= 0) throw new IOException($"{what}: read {n} of {buffer.Length} bytes at offset 0x{offset:X}");
                int errno = LastErrno();
                if (errno != EINTR) throw ErrorFor(errno, what);
            }
        }
    }

    internal static void PWriteExactly(int fd, ReadOnlySpan<byte> buffer, long offset, string what)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = pwrite(fd, p, (size_t)(ulong)buffer.Length, (off_t)offset);
                if (n == buffer.Length) return;
                if (n >= 0) throw new IOException($"{what}: wrote {n} of {buffer.Length} bytes at offset 0x{offset:X}");
                int errno = LastErrno();
                if (errno != EINTR) throw ErrorFor(errno, what);
            }
        }
    }
}
