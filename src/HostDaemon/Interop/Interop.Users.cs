using System.Runtime.InteropServices;
using System.Text;

namespace Ivshmem;

/// <summary>
/// The user and group databases (getpwnam_r and friends, so NSS sources such as LDAP or systemd's
/// dynamic users count too). Tmds.LibC does not bind these.
/// </summary>
internal static unsafe partial class Interop
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public byte* pw_name;
        public byte* pw_passwd;
        public uint pw_uid;
        public uint pw_gid;
        public byte* pw_gecos;
        public byte* pw_dir;
        public byte* pw_shell;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Group
    {
        public byte* gr_name;
        public byte* gr_passwd;
        public uint gr_gid;
        public byte** gr_mem;
    }

    /// <summary>uid and primary gid of user <paramref name="name"/>, or null when there is no such user.</summary>
    internal static (uint Uid, uint Gid)? LookupUser(string name)
    {
        byte[] n = Encoding.UTF8.GetBytes(name + "\0");
        return WithGrowingBuffer($"getpwnam_r({name})", (byte* buffer, nuint size, out (uint, uint)? user) =>
        {
            Passwd pwd;
            Passwd* found;
            int rc;
            fixed (byte* np = n) rc = getpwnam_r(np, &pwd, buffer, size, &found);
            user = found != null ? (pwd.pw_uid, pwd.pw_gid) : null;
            return rc;
        });
    }

    /// <summary>The name of user <paramref name="uid"/>, or null when the database has none.</summary>
    internal static string? UserName(uint uid) =>
        WithGrowingBuffer($"getpwuid_r({uid})", (byte* buffer, nuint size, out string? name) =>
        {
            Passwd pwd;
            Passwd* found;
            int rc = getpwuid_r(uid, &pwd, buffer, size, &found);
            name = found != null ? Marshal.PtrToStringUTF8((nint)pwd.pw_name) : null;
            return rc;
        });

    /// <summary>gid of group <paramref name="name"/>, or null when there is no such group.</summary>
    internal static uint? LookupGroup(string name)
    {
        byte[] n = Encoding.UTF8.GetBytes(name + "\0");
        return WithGrowingBuffer($"getgrnam_r({name})", (byte* buffer, nuint size, out uint? gid) =>
        {
            Group grp;
            Group* found;
            int rc;
            fixed (byte* np = n) rc = getgrnam_r(np, &grp, buffer, size, &found);
            gid = found != null ? grp.gr_gid : null;
            return rc;
        });
    }

    /// <summary>The name of group <paramref name="gid"/>, or null.</summary>
    internal static string? GroupName(uint gid) =>
        WithGrowingBuffer($"getgrgid_r({gid})", (byte* buffer, nuint size, out string? name) =>
        {
            Group grp;
            Group* found;
            int rc = getgrgid_r(gid, &grp, buffer, size, &found);
            name = found != null ? Marshal.PtrToStringUTF8((nint)grp.gr_name) : null;
            return rc;
        });

    /// <summary>One *_r lookup into <paramref name="buffer"/>: returns its error number and sets
    /// <paramref name="result"/> from what it found (null for nothing). The result must be copied out
    /// here: the buffer is freed afterwards.</summary>
    private delegate int Lookup<T>(byte* buffer, nuint size, out T result);

    /// <summary>Runs <paramref name="lookup"/> with a buffer that grows while the lookup says ERANGE
    /// (see <see cref="Retry"/>).</summary>
    private static T WithGrowingBuffer<T>(string what, Lookup<T> lookup)
    {
        for (nuint size = InitialBufferSize; ; size *= 4)
        {
            byte* buffer = (byte*)NativeMemory.Alloc(size);
            try
            {
                int rc = lookup(buffer, size, out T result);
                if (!Retry(rc, size, what)) return result;
            }
            finally { NativeMemory.Free(buffer); }
        }
    }

    private const nuint InitialBufferSize = 4096;

    /// <summary>The *_r lookups return the error number instead of setting errno. ERANGE: try again
    /// with a larger buffer (true). "Not found" is success with a null result; glibc and some NSS
    /// modules report it as ENOENT, ESRCH, EBADF or EPERM, which count as not found too.</summary>
    private static bool Retry(int rc, nuint size, string what)
    {
        if (rc == ERANGE && size < (1 << 22)) return true;
        if (rc is 0 or ENOENT or 3 or EBADF or EPERM) return false;
        throw ErrorFor(rc, what);
    }

    [LibraryImport("libc.so.6")]
    private static partial int getpwnam_r(byte* name, Passwd* pwd, byte* buf, nuint buflen, Passwd** result);

    [LibraryImport("libc.so.6")]
    private static partial int getpwuid_r(uint uid, Passwd* pwd, byte* buf, nuint buflen, Passwd** result);

    [LibraryImport("libc.so.6")]
    private static partial int getgrnam_r(byte* name, Group* grp, byte* buf, nuint buflen, Group** result);

    [LibraryImport("libc.so.6")]
    private static partial int getgrgid_r(uint gid, Group* grp, byte* buf, nuint buflen, Group** result);
}
