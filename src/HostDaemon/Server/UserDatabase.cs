namespace Ivshmem.Daemon.Server;

/// <summary>User and group names for admission checks, socket ownership and messages.</summary>
internal static class UserDatabase
{
    public static uint UserId(string name) =>
        Interop.LookupUser(name)?.Uid ?? throw new IOException($"there is no user '{name}' on this system");

    public static uint GroupId(string name) =>
        Interop.LookupGroup(name) ?? throw new IOException($"there is no group '{name}' on this system");

    /// <summary>How long a uid's name is remembered: every connection asks, and a lookup may read
    /// /etc/passwd or ask a directory service; a renamed user shows up after this.</summary>
    private static readonly TimeSpan NameLifetime = TimeSpan.FromMinutes(1);
    private static readonly Dictionary<uint, (string Name, long Until)> Names = [];

    /// <summary>The user's name, or the number when the database has none (a container's uid).</summary>
    public static string UserName(uint uid)
    {
        long now = Environment.TickCount64;
        lock (Names)
            if (Names.TryGetValue(uid, out var known) && known.Until > now) return known.Name;
        string name = Interop.UserName(uid) ?? uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        lock (Names) Names[uid] = (name, now + (long)NameLifetime.TotalMilliseconds);
        return name;
    }

    public static string GroupName(uint gid) => Interop.GroupName(gid) ?? gid.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
