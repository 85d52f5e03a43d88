using System.Runtime.InteropServices;
using System.Text;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>What <c>ivshmemd doctor</c> asks the kernel and the user database: owners and modes of
/// paths, free space of a filesystem, the groups a user has.</summary>
internal static unsafe partial class Interop
{
    /// <summary>Owner, group and mode bits (type included) of <paramref name="path"/>, following
    /// symbolic links; null when it cannot be stat'ed (missing, or a component is not a directory).</summary>
    internal static (uint Uid, uint Gid, uint Mode)? PathOwnership(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        Tmds.Linux.stat st;
        fixed (byte* p = bytes)
        {
            if (stat(p, &st) != 0) return null;
        }
        return (st.st_uid, st.st_gid, (ushort)st.st_mode);
    }

    internal const uint S_IFDIR_ = 0x4000;

    private const ulong ST_RDONLY_ = 1;

    /// <summary>Bytes available to unprivileged users and whether the filesystem is mounted
    /// read-only, for the filesystem that holds <paramref name="path"/>; null when statvfs fails.</summary>
    internal static (long AvailableBytes, bool ReadOnly)? FileSystemSpace(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        // struct statvfs on x86-64: f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, ..., f_flag at
        // index 9, each 8 bytes; 112 bytes in all with the spare words.
        ulong* buffer = stackalloc ulong[16];
        fixed (byte* p = bytes)
        {
            if (statvfs(p, buffer) != 0) return null;
        }
        ulong available = buffer[4] * buffer[1];
        return (available > long.MaxValue ? long.MaxValue : (long)available, (buffer[9] & ST_RDONLY_) != 0);
    }

    /// <summary>Every group <paramref name="user"/> is in: <paramref name="primaryGid"/> and the
    /// supplementary groups of the group database (what initgroups(3) gives a process of that user,
    /// as libvirt does for QEMU).</summary>
    internal static uint[] GroupsOfUser(string user, uint primaryGid)
    {
        byte[] name = Encoding.UTF8.GetBytes(user + "\0");
        int count = 64;
        while (true)
        {
            uint[] groups = new uint[count];
            int n = count;
            int rc;
            fixed (byte* np = name)
            fixed (uint* gp = groups)
                rc = getgrouplist(np, primaryGid, gp, &n);
            if (rc >= 0)
                return groups[..n];
            if (count >= 65536)
                return [primaryGid];
            count = Math.Max(n, count * 4);
        }
    }

    [LibraryImport("libc.so.6")]
    private static partial int statvfs(byte* path, ulong* buffer);

    [LibraryImport("libc.so.6")]
    private static partial int getgrouplist(byte* user, uint group, uint* groups, int* ngroups);
}
