using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;
using Syscall = Mono.Unix.Native.Syscall;
using FilePermissions = Mono.Unix.Native.FilePermissions;

namespace Ivshmem;

/// <summary>Files and descriptors: region backing files, socket file ownership, fd bookkeeping.</summary>
internal static unsafe partial class Interop
{
    private const int O_NOFOLLOW_ = 0x20000;

    /// <summary>An unnamed file in <paramref name="directory"/> (O_TMPFILE): the hugetlbfs backing,
    /// reachable only through the fd, so nothing is left behind when the last user goes.</summary>
    internal static int OpenTempFile(string directory)
    {
        byte[] path = Encoding.UTF8.GetBytes(directory + "\0");
        fixed (byte* p = path)
        {
            while (true)
            {
                int fd = open(p, O_TMPFILE | O_RDWR | O_CLOEXEC, 0x180 /* 0600 */);
                if (fd >= 0) return fd;
                int errno = LastErrno();
                if (errno != EINTR) throw ErrorFor(errno, $"open an unnamed file (O_TMPFILE) in {directory}");
            }
        }
    }

    /// <summary>fsync of a directory: a rename in it is durable once this returns.</summary>
    internal static void SyncDirectory(string directory)
    {
        byte[] path = Encoding.UTF8.GetBytes(directory + "\0");
        int fd;
        fixed (byte* p = path)
        {
            while ((fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)) < 0)
            {
                int errno = LastErrno();
                if (errno != EINTR) throw ErrorFor(errno, $"open the directory {directory}");
            }
        }
        try
        {
            if (fsync(fd) != 0) throw ErrorFor(LastErrno(), $"fsync {directory}");
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>Opens (creating it if needed) the regular file <paramref name="path"/> read-write,
    /// refusing a symbolic link: the shm-file backing lives in a world-writable directory.</summary>
    internal static int OpenOrCreateFile(string path, UnixFileMode mode)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            while (true)
            {
                int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW_, (ushort)mode);
                if (fd >= 0) return fd;
                int errno = LastErrno();
                if (errno != EINTR) throw ErrorFor(errno, $"open {path}");
            }
        }
    }

    internal static void Truncate(int fd, long length, string what) =>
        CheckIo(ftruncate(fd, length), $"ftruncate {what} to {length} bytes");

    /// <summary>fstat: size and file type bits. fstat is declared without SetLastError in Tmds.LibC,
    /// so errno is read directly.</summary>
    internal static (long Size, uint Mode) FileStat(int fd)
    {
        stat st;
        if (fstat(fd, &st) != 0) throw ErrorFor(Marshal.GetLastSystemError(), $"fstat of fd {fd}");
        return (st.st_size, (ushort)st.st_mode);
    }

    /// <summary>The file type bits of <paramref name="path"/> itself (a symbolic link is not
    /// followed), or 0 when nothing is there.</summary>
    internal static uint PathType(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        stat st;
        fixed (byte* p = bytes)
        {
            if (lstat(p, &st) == 0) return (ushort)st.st_mode & S_IFMT_;
        }
        int errno = Marshal.GetLastSystemError(); // lstat is declared without SetLastError
        if (errno is ENOENT) return 0;
        throw ErrorFor(errno, $"lstat {path}");
    }

    /// <summary>The device and inode of what is at <paramref name="path"/> (links not followed), or null
    /// when nothing is (the path or a directory above it is missing).</summary>
    internal static (ulong Device, ulong Inode)? PathIdentity(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        stat st;
        fixed (byte* p = bytes)
        {
            if (lstat(p, &st) == 0) return ((ulong)st.st_dev, (ulong)st.st_ino);
        }
        int errno = Marshal.GetLastSystemError();
        if (errno is ENOENT or ENOTDIR) return null;
        throw ErrorFor(errno, $"lstat {path}");
    }

    internal const uint S_IFMT_ = 0xF000;
    internal const uint S_IFREG_ = 0x8000;
    internal const uint S_IFSOCK_ = 0xC000;

    // Mode and ownership go through Mono.Unix, the design's POSIX library, and the errno funnel, so
    // the messages stay "chmod PATH: REASON (errno N)". Its Syscall layer rather than UnixFileInfo:
    // UnixFileInfo.SetOwner is chown(2), which follows a symbolic link where the daemon wants lchown,
    // it has no fd forms, and it throws its own exception types with other messages.

    internal static void Chmod(string path, UnixFileMode mode) =>
        CheckIo(Syscall.chmod(path, (FilePermissions)mode), $"chmod {path}");

    /// <summary>Changes owner and/or group of <paramref name="path"/> (uint.MaxValue = leave as is),
    /// not following a symbolic link. Mono.Unix takes ids as int, where uint.MaxValue is its -1.</summary>
    internal static void Chown(string path, uint uid, uint gid) =>
        CheckIo(Syscall.lchown(path, unchecked((int)uid), unchecked((int)gid)), $"chown {path}");

    internal static void FileChown(int fd, uint uid, uint gid, string what) =>
        CheckIo(Syscall.fchown(fd, unchecked((int)uid), unchecked((int)gid)), $"chown {what}");

    internal static void FileChmod(int fd, UnixFileMode mode, string what) =>
        CheckIo(Syscall.fchmod(fd, (FilePermissions)mode), $"chmod {what}");

    /// <summary>Removes <paramref name="path"/>; returns false when it did not exist.</summary>
    internal static bool Unlink(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (unlink(p) == 0) return true;
            int errno = LastErrno();
            if (errno == ENOENT) return false;
            throw ErrorFor(errno, $"unlink {path}");
        }
    }

    /// <summary>A close-on-exec duplicate of <paramref name="fd"/>.</summary>
    internal static int Dup(int fd) => CheckIo(fcntl(fd, F_DUPFD_CLOEXEC, 3), $"dup of fd {fd}");

    /// <summary>Sets close-on-exec on an fd inherited from systemd (LISTEN_FDS), so VMs or helpers
    /// the daemon might start never inherit region memory or peer connections.</summary>
    internal static void SetCloseOnExec(int fd) => CheckIo(fcntl(fd, F_SETFD, FD_CLOEXEC), $"fcntl(F_SETFD) of fd {fd}");

    /// <summary>Whether <paramref name="fd"/> is open in this process.</summary>
    internal static bool IsOpen(int fd) => fcntl(fd, F_GETFD) >= 0;

    internal const long HUGETLBFS_MAGIC = 0x958458f6;

    /// <summary>The filesystem type (statfs f_type) of the file behind <paramref name="fd"/>.</summary>
    internal static long FileSystemType(int fd, string what)
    {
        // struct statfs is 120 bytes on x86-64; f_type is its first field (a long).
        long* buffer = stackalloc long[16];
        CheckIo(fstatfs(fd, buffer), $"fstatfs {what}");
        return buffer[0];
    }

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int fstatfs(int fd, long* buffer);

    /// <summary>CLOCK_MONOTONIC in microseconds: what systemd wants in MONOTONIC_USEC=.</summary>
    internal static long MonotonicMicroseconds()
    {
        long* ts = stackalloc long[2];
        if (clock_gettime(1 /* CLOCK_MONOTONIC */, ts) != 0) throw ErrorFor(LastErrno(), "clock_gettime(CLOCK_MONOTONIC)");
        return ts[0] * 1_000_000 + ts[1] / 1_000;
    }

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int clock_gettime(int clockId, long* timespec);
}
