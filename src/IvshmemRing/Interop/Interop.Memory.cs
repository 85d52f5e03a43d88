using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

internal static unsafe partial class Interop
{
    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> shared and read-write.</summary>
    internal static byte* MapShared(int fd, long length, long offset = 0)
    {
        void* p = mmap(null, (size_t)(ulong)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
        if (p == MAP_FAILED) ThrowMapFailed(length, fd);
        return (byte*)p;
    }

    internal static byte* MapAnonymousShared(long length)
    {
        void* p = mmap(null, (size_t)(ulong)length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) ThrowMapFailed(length, -1);
        return (byte*)p;
    }

    private static void ThrowMapFailed(long length, int fd) =>
        throw ErrorFor(LastErrno(), $"mmap of {length} bytes (fd {fd})");

    internal static void Unmap(byte* pointer, long length) => munmap(pointer, (size_t)(ulong)length);

    internal static int MemfdCreate(string name, bool allowSealing)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* n = bytes)
            return CheckIo(memfd_create(n, MFD_CLOEXEC | (allowSealing ? MFD_ALLOW_SEALING : 0)), $"memfd_create({name})");
    }

    internal static void Truncate(int fd, long length) => CheckIo(ftruncate(fd, (off_t)length), $"ftruncate to {length} bytes");

    /// <summary>Forbids shrinking and growing the file, and further seal changes: a peer that holds the
    /// fd cannot truncate the memory under the others' mappings (which would SIGBUS them).</summary>
    internal static void SealSize(int fd) =>
        CheckIo(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), "fcntl(F_ADD_SEALS)");

    internal static long FileSize(int fd)
    {
        stat st;
        CheckIo(fstat(fd, &st), "fstat");
        return st.st_size;
    }

}
