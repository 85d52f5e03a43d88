using System.Text.RegularExpressions;

namespace Ivshmem.Daemon.Doctor;

/// <summary>A user QEMU may run as, resolved on this host: the uid and every group its processes
/// get. <see cref="Source"/> says where the name came from, for messages.</summary>
internal sealed record QemuUser(string Name, uint Uid, uint Gid, IReadOnlyList<uint> Groups, string Source)
{
    /// <summary>Who connects to the region's socket, as far as doctor can tell: libvirt's QEMU user
    /// and group from /etc/libvirt/qemu.conf when that file exists (libvirt's build default,
    /// libvirt-qemu or qemu, where it sets none); otherwise the users the region names (allow.users,
    /// then host_users). Names that are not users on this host are returned in
    /// <paramref name="unknown"/>.</summary>
    public static IReadOnlyList<QemuUser> For(Configuration.RegionOptions region, LibvirtQemuConf? libvirt, out IReadOnlyList<string> unknown)
    {
        var missing = new List<string>();
        var users = new List<QemuUser>();
        if (libvirt is not null)
        {
            string? name = libvirt.User ?? new[] { "libvirt-qemu", "qemu" }.FirstOrDefault(n => Interop.LookupUser(n) is not null);
            if (name is null)
            {
                missing.Add("libvirt's QEMU user (qemu.conf sets no 'user', and neither libvirt-qemu nor qemu exists)");
            }
            else if (Resolve(name, libvirt.Group, libvirt.User is null ? "libvirt's default QEMU user" : $"'user' in {HostView.QemuConf}") is { } user)
            {
                users.Add(user);
            }
            else
            {
                missing.Add($"'{name}' ({(libvirt.User is null ? "libvirt's default QEMU user" : "'user' in " + HostView.QemuConf)})");
            }
        }
        else
        {
            foreach ((string name, string source) in region.AllowUsers.Select(u => (u, "allow.users")).Concat(region.HostUsers.Select(u => (u, "host_users"))).DistinctBy(p => p.Item1))
            {
                if (Resolve(name, null, $"{source} of region '{region.Name}'") is { } user)
                    users.Add(user);
                else
                    missing.Add($"'{name}' ({source})");
            }
        }
        unknown = missing;
        return users;
    }

    private static QemuUser? Resolve(string name, string? groupName, string source)
    {
        if (Interop.LookupUser(name) is not { } ids)
            return null;
        uint gid = groupName is not null && Interop.LookupGroup(groupName) is { } g ? g : ids.Gid;
        uint[] groups = Interop.GroupsOfUser(name, gid);
        return new QemuUser(name, ids.Uid, gid, groups.Contains(gid) ? groups : [gid, .. groups], source);
    }

    /// <summary>Whether this user may do what <paramref name="bits"/> (rwx as 4, 2, 1) asks on a file
    /// with this owner, group and mode, by the kernel's rule: the owner class if it owns the file,
    /// else the group class if it is in the group, else others; root may always (for a socket and
    /// for searching a directory, which is all doctor asks).</summary>
    public bool May(uint bits, uint ownerUid, uint ownerGid, uint mode)
    {
        if (Uid == 0) return true;
        if (Uid == ownerUid) return ((mode >> 6) & bits) == bits;
        if (Groups.Contains(ownerGid)) return ((mode >> 3) & bits) == bits;
        return (mode & bits) == bits;
    }
}

/// <summary>The parts of libvirt's /etc/libvirt/qemu.conf that decide who QEMU runs as and how it
/// is confined.</summary>
internal sealed partial record LibvirtQemuConf(string? User, string? Group, string? SecurityDriver)
{
    /// <summary>The settings, or null when the file does not exist (no libvirt on this host).</summary>
    public static LibvirtQemuConf? Read(HostView host)
    {
        string? text = host.ReadText(HostView.QemuConf);
        if (text is null) return null;
        string? user = null, group = null, driver = null;
        foreach (string line in text.Split('\n'))
        {
            Match m = Setting().Match(line);
            if (!m.Success) continue;
            string value = m.Groups["value"].Value;
            switch (m.Groups["key"].Value)
            {
                case "user": user = value; break;
                case "group": group = value; break;
                case "security_driver": driver = value; break;
            }
        }
        // libvirt accepts "+0" for uid 0; the name is what the user database knows.
        return new LibvirtQemuConf(Numeric(user, u => Interop.UserName(u)), Numeric(group, g => Interop.GroupName(g)), driver);
    }

    private static string? Numeric(string? value, Func<uint, string?> name) =>
        value is ['+', .. var digits] && uint.TryParse(digits, out uint id) ? name(id) ?? value : value;

    [GeneratedRegex("""^\s*(?<key>user|group|security_driver)\s*=\s*(?:"(?<value>[^"]*)"|\[\s*"(?<value>[^"]*)")""")]
    private static partial Regex Setting();
}
