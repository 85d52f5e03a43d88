using System.Globalization;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Doctor;

/// <summary>
/// Checks "socket-dir", "socket-access" and "socket-path": the daemon can create its sockets, and
/// QEMU's user may connect to them.
/// </summary>
internal static class SocketChecks
{
    /// <summary>
    /// "socket-dir": the directory of every socket exists or 'run' creates it. 'run' creates the
    /// runtime directory and the control socket's directory (with their parents) when missing, but
    /// not the directory of a region's own 'socket:' path: binding there fails with ENOENT. Also a
    /// file that is not a socket where a socket goes, which 'run' refuses to replace. Whether a
    /// missing directory can be created is judged for root, the daemon's user in the packaged unit:
    /// it cannot when a component is not a directory or the filesystem is read-only.
    /// </summary>
    public static IEnumerable<CheckResult> Directories(DaemonOptions options, IReadOnlyList<RegionOptions> regions)
    {
        var sockets = new List<(string Path, string What, bool DirectoryCreated)>
        {
            (options.ControlSocketPath, "the control socket", true),
        };
        foreach (RegionOptions region in regions)
        {
            string directory = System.IO.Path.GetDirectoryName(region.SocketPath)!;
            sockets.Add((region.SocketPath, $"region '{region.Name}'", directory == options.RuntimeDirectory));
        }
        var results = new List<CheckResult>();
        foreach (var group in sockets.GroupBy(s => System.IO.Path.GetDirectoryName(s.Path)!, StringComparer.Ordinal))
        {
            string directory = group.Key;
            string users = string.Join(", ", group.Select(s => s.What).Distinct());
            bool created = group.Any(s => s.DirectoryCreated) || directory == options.RuntimeDirectory;
            results.Add(CheckDirectory(directory, users, created, options.SourcePath));
            foreach (var socket in group)
            {
                uint type = Interop.PathOwnership(socket.Path) is { } st ? st.Mode & Interop.S_IFMT_ : 0;
                if (type != 0 && type != Interop.S_IFSOCK_)
                    results.Add(CheckResult.Fail("socket-dir",
                        $"{socket.Path} ({socket.What}) exists and is not a socket; 'ivshmemd run' will not replace it",
                        $"move that file away, or choose another socket path in {options.SourcePath}"));
            }
        }
        return results;
    }

    private static CheckResult CheckDirectory(string directory, string users, bool createdByRun, string configPath)
    {
        if (Interop.PathOwnership(directory) is { } st)
        {
            return (st.Mode & Interop.S_IFMT_) == Interop.S_IFDIR_
                ? CheckResult.Pass("socket-dir", $"{directory} exists (sockets of {users})")
                : CheckResult.Fail("socket-dir", $"{directory} (sockets of {users}) exists and is not a directory",
                    $"remove or rename {directory}, or choose another socket path in {configPath}");
        }
        string? obstacle = WhyNotCreatable(directory);
        if (createdByRun)
        {
            return obstacle is null
                ? CheckResult.Pass("socket-dir", $"{directory} does not exist yet; 'ivshmemd run' creates it (sockets of {users})")
                : CheckResult.Fail("socket-dir", $"{directory} (sockets of {users}) does not exist and cannot be created: {obstacle}",
                    $"choose a runtime_directory or control_socket in a directory that can exist, in {configPath}");
        }
        return obstacle is null
            ? CheckResult.Fail("socket-dir", $"{directory} (sockets of {users}) does not exist, and 'ivshmemd run' creates only the runtime directory, so it does not start",
                $"mkdir -p {directory} (for the packaged unit also add it to ReadWritePaths=), or put the socket in the runtime directory")
            : CheckResult.Fail("socket-dir", $"{directory} (sockets of {users}) does not exist and cannot be created: {obstacle}",
                $"choose a socket path in an existing, writable directory in {configPath}");
    }

    /// <summary>Why root could not create <paramref name="directory"/> (the nearest existing ancestor
    /// is not a directory, or is on a read-only filesystem); null when it could.</summary>
    internal static string? WhyNotCreatable(string directory)
    {
        string? current = directory;
        while (current is not null && Interop.PathOwnership(current) is null)
        {
            // A component that exists but is not a directory makes stat fail with ENOTDIR below it.
            string? parent = System.IO.Path.GetDirectoryName(current);
            if (parent is not null && Interop.PathOwnership(parent) is { } p && (p.Mode & Interop.S_IFMT_) != Interop.S_IFDIR_)
                return $"{parent} is not a directory";
            current = parent;
        }
        if (current is null) return "no ancestor exists";
        if (Interop.PathOwnership(current) is { } st && (st.Mode & Interop.S_IFMT_) != Interop.S_IFDIR_)
            return $"{current} is not a directory";
        if (Interop.FileSystemSpace(current) is { ReadOnly: true })
            return $"{current} is on a read-only filesystem";
        return null;
    }

    /// <summary>
    /// "socket-access": QEMU's user may connect to each region's socket (write permission on it, by
    /// the socket's mode, owner and group) and passes the region's allow lists. The socket as it is
    /// when it exists (the daemon is running); else as 'run' will create it: owned by socket_owner
    /// or root, group socket_group or root's, mode socket_mode.
    /// </summary>
    public static IEnumerable<CheckResult> Access(DaemonOptions options, IReadOnlyList<RegionOptions> regions, LibvirtQemuConf? libvirt)
    {
        foreach (RegionOptions region in regions)
        {
            IReadOnlyList<QemuUser> users = QemuUser.For(region, libvirt, out IReadOnlyList<string> unknown);
            foreach (string name in unknown)
                yield return CheckResult.Warn("socket-access",
                    $"region '{region.Name}': cannot check whether {name} may connect: not a user on this host",
                    libvirt is null ? "create the user, or correct the name" : $"install libvirt's QEMU user, or set 'user' in {HostView.QemuConf}");
            (uint uid, uint gid, uint mode, string how) = SocketAsServed(region);
            if (users.Count == 0)
            {
                if (unknown.Count == 0)
                    yield return CheckResult.Pass("socket-access",
                        $"region '{region.Name}': {how}; no libvirt ({HostView.QemuConf}) and no allow.users: QEMU must run as a user these permissions let write");
                continue;
            }
            foreach (QemuUser user in users)
            {
                string who = $"{user.Name} ({user.Source})";
                if (!user.May(2, uid, gid, mode))
                {
                    string fix = region.SocketGroup is { } g && user.Groups.Contains(Interop.LookupGroup(g) ?? uint.MaxValue)
                        ? $"set socket_mode: \"0660\" for region '{region.Name}' in {options.SourcePath}"
                        : $"set socket_group: {Interop.GroupName(user.Gid) ?? user.Gid.ToString(CultureInfo.InvariantCulture)} (a group of {user.Name}) and socket_mode: \"0660\" for region '{region.Name}' in {options.SourcePath}";
                    yield return CheckResult.Fail("socket-access",
                        $"region '{region.Name}': {who} may not write to {region.SocketPath}: {how}; QEMU fails with \"Permission denied\"", fix);
                    continue;
                }
                if (!Admitted(region, user))
                {
                    yield return CheckResult.Fail("socket-access",
                        $"region '{region.Name}': {who} is not in allow.users and none of its groups is in allow.groups; the daemon refuses its QEMU",
                        $"add {user.Name} to allow.users (or one of its groups to allow.groups) of region '{region.Name}' in {options.SourcePath}");
                    continue;
                }
                yield return CheckResult.Pass("socket-access", $"region '{region.Name}': {who} may connect to {region.SocketPath} ({how})");
            }
        }
    }

    /// <summary>Owner, group and mode of the region's socket: the file when it exists, else what
    /// 'run' will give it; and a description such as "mode 0660, owner root, group kvm".</summary>
    private static (uint Uid, uint Gid, uint Mode, string How) SocketAsServed(RegionOptions region)
    {
        if (Interop.PathOwnership(region.SocketPath) is { } st && (st.Mode & Interop.S_IFMT_) == Interop.S_IFSOCK_)
            return (st.Uid, st.Gid, st.Mode & 0x1FF, $"the socket has {Describe(st.Uid, st.Gid, st.Mode)}");
        uint uid = region.SocketOwner is { } o && Interop.LookupUser(o) is { } u ? u.Uid : 0;
        uint gid = region.SocketGroup is { } g && Interop.LookupGroup(g) is { } gg ? gg : 0;
        uint mode = (uint)region.SocketMode;
        return (uid, gid, mode, $"'run' creates it with {Describe(uid, gid, mode)}");
    }

    internal static string Describe(uint uid, uint gid, uint mode) =>
        $"mode {Convert.ToString(mode & 0x1FF, 8).PadLeft(4, '0')}, owner {Interop.UserName(uid) ?? uid.ToString(CultureInfo.InvariantCulture)}, group {Interop.GroupName(gid) ?? gid.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The daemon's allow check (see Server/Admission.cs): with allow.users and allow.groups
    /// both empty everyone passes; else the user or one of its groups must be listed.</summary>
    private static bool Admitted(RegionOptions region, QemuUser user)
    {
        if (region.AllowUsers.Count == 0 && region.AllowGroups.Count == 0) return true;
        if (region.AllowUsers.Contains(user.Name, StringComparer.Ordinal)) return true;
        return region.AllowGroups.Any(g => Interop.LookupGroup(g) is { } gid && user.Groups.Contains(gid));
    }

    /// <summary>
    /// "socket-path": QEMU's user may search (x) every existing directory on the way to each
    /// region's socket; connect(2) needs that as much as write permission on the socket itself.
    /// </summary>
    public static IEnumerable<CheckResult> Path(IReadOnlyList<RegionOptions> regions, LibvirtQemuConf? libvirt)
    {
        foreach (RegionOptions region in regions)
        {
            IReadOnlyList<QemuUser> users = QemuUser.For(region, libvirt, out _);
            if (users.Count == 0) continue;
            foreach (QemuUser user in users)
            {
                string? blocked = null;
                uint blockedMode = 0;
                for (string? directory = System.IO.Path.GetDirectoryName(region.SocketPath); directory is not null; directory = System.IO.Path.GetDirectoryName(directory))
                {
                    if (Interop.PathOwnership(directory) is not { } st) continue; // 'run' creates it (0755 under the default umask)
                    if (!user.May(1, st.Uid, st.Gid, st.Mode))
                    {
                        blocked = directory; // keep the one nearest the root: fix that first
                        blockedMode = st.Mode;
                    }
                }
                yield return blocked is null
                    ? CheckResult.Pass("socket-path", $"region '{region.Name}': {user.Name} may reach {System.IO.Path.GetDirectoryName(region.SocketPath)}")
                    : CheckResult.Fail("socket-path",
                        $"region '{region.Name}': {user.Name} may not search {blocked} ({Describe(Interop.PathOwnership(blocked)?.Uid ?? 0, Interop.PathOwnership(blocked)?.Gid ?? 0, blockedMode)}), so it cannot reach {region.SocketPath}",
                        $"chmod o+x {blocked} (or give {user.Name}'s group g+x on it), or put the socket in a directory QEMU can reach");
            }
        }
    }
}
