namespace Ivshmem.Daemon.Server;

/// <summary>User and group names for admission checks, socket ownership and messages.</summary>
internal static class UserDatabase
{
    public static uint UserId(string name) =>
        Interop.LookupUser(name)?.Uid ?? throw new IOException($"there is no user '{name}' on this system");

    public static uint GroupId(string name) =>
        Interop.LookupGroup(name) ?? throw new IOException($"there is no group '{name}' on this system");

    /// <summary>The user's name, or the number when the database has none (a container's uid).</summary>
    public static string UserName(uint uid) => Interop.UserName(uid) ?? uid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string GroupName(uint gid) => Interop.GroupName(gid) ?? gid.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
