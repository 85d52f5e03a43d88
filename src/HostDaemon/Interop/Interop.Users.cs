using Mono.Unix.Native;

namespace Ivshmem;

/// <summary>
/// The user and group databases through Mono.Unix (getpwnam_r and friends, so NSS sources such as
/// LDAP or systemd's dynamic users count too; its native helper grows the buffer on ERANGE).
/// Its Syscall layer rather than UnixUserInfo/UnixGroupInfo: those throw one ArgumentException both
/// for "no such user" and for "the lookup failed" (a directory service that is down), and the daemon
/// must not say a user does not exist when it could not ask.
/// </summary>
internal static partial class Interop
{
    /// <summary>uid and primary gid of user <paramref name="name"/>, or null when there is no such user.</summary>
    internal static (uint Uid, uint Gid)? LookupUser(string name)
    {
        int rc = Syscall.getpwnam_r(name, new Passwd(), out Passwd? found);
        return Found(rc, found, $"getpwnam_r({name})") is { } user ? (user.pw_uid, user.pw_gid) : null;
    }

    /// <summary>The name of user <paramref name="uid"/>, or null when the database has none.</summary>
    internal static string? UserName(uint uid)
    {
        int rc = Syscall.getpwuid_r(uid, new Passwd(), out Passwd? found);
        return Found(rc, found, $"getpwuid_r({uid})")?.pw_name;
    }

    /// <summary>gid of group <paramref name="name"/>, or null when there is no such group.</summary>
    internal static uint? LookupGroup(string name)
    {
        int rc = Syscall.getgrnam_r(name, new Group(), out Group? found);
        return Found(rc, found, $"getgrnam_r({name})")?.gr_gid;
    }

    /// <summary>The name of group <paramref name="gid"/>, or null.</summary>
    internal static string? GroupName(uint gid)
    {
        int rc = Syscall.getgrgid_r(gid, new Group(), out Group? found);
        return Found(rc, found, $"getgrgid_r({gid})")?.gr_name;
    }

    /// <summary>The *_r lookups return the error number instead of setting errno. "Not found" is
    /// success with a null result; glibc and some NSS modules report it as ENOENT, ESRCH, EBADF or
    /// EPERM, which count as not found too; any other number is a failure to look.</summary>
    private static T? Found<T>(int rc, T? found, string what) where T : class
    {
        if (rc is 0 or ENOENT or 3 or EBADF or EPERM) return rc == 0 ? found : null;
        throw ErrorFor(rc, what);
    }
}
