using Ivshmem.Daemon.Server;

namespace Ivshmem.Daemon.Hosting;

/// <summary>
/// sd_listen_fds(3) with names: the fds systemd hands a restarted service from its fd store, at fd 3
/// onwards, named in LISTEN_FDNAMES. Taken once at start-up; the variables are removed so that no
/// child process could mistake them for its own, and the fds become close-on-exec.
/// </summary>
internal static class SystemdListenFds
{
    private const int FirstFd = 3;

    public static RestoredFds Take()
    {
        string? pid = Environment.GetEnvironmentVariable(SystemdVariables.ListenPid);
        string? count = Environment.GetEnvironmentVariable(SystemdVariables.ListenFds);
        string? names = Environment.GetEnvironmentVariable(SystemdVariables.ListenFdNames);
        Environment.SetEnvironmentVariable(SystemdVariables.ListenPid, null);
        Environment.SetEnvironmentVariable(SystemdVariables.ListenFds, null);
        Environment.SetEnvironmentVariable(SystemdVariables.ListenFdNames, null);
        return Parse(pid, count, names, Environment.ProcessId, Interop.IsOpen, Interop.SetCloseOnExec);
    }

    /// <summary>The parsing, separate from the process state it reads, so it can be tested as it is.</summary>
    internal static RestoredFds Parse(string? pid, string? count, string? names, int ownPid, Func<int, bool> isOpen, Action<int> setCloseOnExec)
    {
        if (pid is null || count is null) return RestoredFds.None;
        if (!int.TryParse(pid, out int forPid) || forPid != ownPid) return RestoredFds.None; // meant for someone else
        if (!int.TryParse(count, out int n) || n <= 0) return RestoredFds.None;
        string[] nameList = names?.Split(':') ?? [];
        var fds = new List<(string, int)>(n);
        for (int i = 0; i < n; i++)
        {
            int fd = FirstFd + i;
            if (!isOpen(fd)) continue;
            setCloseOnExec(fd);
            fds.Add((i < nameList.Length && nameList[i].Length > 0 ? nameList[i] : "unknown", fd));
        }
        return new RestoredFds(fds);
    }
}
