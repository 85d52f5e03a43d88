using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Doctor;

/// <summary>
/// Checks "user" and "group": every user and group the configuration names exists on this host.
/// A missing control_group, socket_group or socket_owner stops 'ivshmemd run' (FAIL); a missing name
/// in allow or host_users only matches nobody, which the daemon logs (WARN). check-config reports
/// the same findings as warnings.
/// </summary>
internal static class AccountChecks
{
    public static IEnumerable<CheckResult> Users(DaemonOptions options, IReadOnlyList<RegionOptions> regions)
    {
        var named = new List<string>();
        var problems = new List<CheckResult>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (RegionOptions region in regions)
        {
            if (region.SocketOwner is { } owner)
                Check(owner, () => CheckResult.Fail("user",
                    $"socket_owner '{owner}' of region '{region.Name}' is not a user on this host; 'ivshmemd run' cannot chown the socket and does not start",
                    $"create it (useradd --system --no-create-home {owner}) or correct socket_owner in {options.SourcePath}"));
            foreach (string user in region.AllowUsers)
                Check(user, () => CheckResult.Warn("user",
                    $"allow.users of region '{region.Name}' names '{user}', which is not a user on this host; it matches nobody",
                    $"create the user, or correct or remove it in {options.SourcePath}"));
            foreach (string user in region.HostUsers)
                Check(user, () => CheckResult.Warn("user",
                    $"host_users of region '{region.Name}' names '{user}', which is not a user on this host; no host process can join as it",
                    $"create the user, or correct or remove it in {options.SourcePath}"));
        }
        return Summarise("user", "users", named, problems);

        void Check(string name, Func<CheckResult> missing)
        {
            if (Interop.LookupUser(name) is not null) named.Add(name);
            else if (reported.Add(name)) problems.Add(missing()); // once per name, at its first (most severe) use
        }
    }

    public static IEnumerable<CheckResult> Groups(DaemonOptions options, IReadOnlyList<RegionOptions> regions)
    {
        var named = new List<string>();
        var problems = new List<CheckResult>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        if (options.ControlSocketGroup is { } control)
            Check(control, () => CheckResult.Fail("group",
                $"control_group '{control}' is not a group on this host; 'ivshmemd run' stops at the control socket (\"there is no group '{control}'\")",
                $"create it (groupadd --system {control}) or correct control_group in {options.SourcePath}"));
        foreach (RegionOptions region in regions)
        {
            if (region.SocketGroup is { } group)
                Check(group, () => CheckResult.Fail("group",
                    $"socket_group '{group}' of region '{region.Name}' is not a group on this host; 'ivshmemd run' cannot chown the socket and does not start",
                    $"create it (groupadd --system {group}) or correct socket_group in {options.SourcePath}"));
            foreach (string allowed in region.AllowGroups)
                Check(allowed, () => CheckResult.Warn("group",
                    $"allow.groups of region '{region.Name}' names '{allowed}', which is not a group on this host; it matches nobody",
                    $"create the group, or correct or remove it in {options.SourcePath}"));
        }
        return Summarise("group", "groups", named, problems);

        void Check(string name, Func<CheckResult> missing)
        {
            if (Interop.LookupGroup(name) is not null) named.Add(name);
            else if (reported.Add(name)) problems.Add(missing()); // once per name, at its first (most severe) use
        }
    }

    private static IEnumerable<CheckResult> Summarise(string check, string what, List<string> found, List<CheckResult> problems)
    {
        if (problems.Count > 0)
            return problems;
        var names = found.Distinct(StringComparer.Ordinal).ToList();
        return names.Count == 0
            ? [CheckResult.Pass(check, $"the configuration names no {what}")]
            : [CheckResult.Pass(check, $"{string.Join(", ", names)} exist{(names.Count == 1 ? "s" : "")}")];
    }
}
