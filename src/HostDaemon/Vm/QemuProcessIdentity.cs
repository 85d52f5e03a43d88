using System.Globalization;

namespace Ivshmem.Daemon.Vm;

/// <summary>
/// A process told apart from a later one that reuses its pid: the pid and the process's start time
/// (field 22 of /proc/PID/stat, clock ticks after boot), which never changes while the process lives
/// and differs for a new process with the same pid. The daemon records the QEMU processes that lost
/// an ivshmem device this way (docs/migration.md, "Re-attaching into the same QEMU process").
/// </summary>
public readonly record struct QemuProcessIdentity(int Pid, ulong StartTime)
{
    /// <summary>The identity of the running process <paramref name="pid"/>, or null when there is no such
    /// process, it has exited (a zombie), or its stat cannot be read.</summary>
    public static QemuProcessIdentity? Of(int pid, string procRoot = "/proc")
    {
        if (pid <= 0) return null;
        string text;
        try { text = File.ReadAllText(Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture), "stat")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return Parse(pid, text);
    }

    /// <summary>Reads the state (field 3) and start time (field 22) from a /proc/PID/stat line. The
    /// command name (field 2) is in parentheses and may itself hold spaces and parentheses, so the
    /// fields are counted from the last ')'. A zombie or dead process is no identity: it runs nothing.</summary>
    internal static QemuProcessIdentity? Parse(int pid, string stat)
    {
        int close = stat.LastIndexOf(')');
        if (close < 0) return null;
        string[] fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so field N is fields[N - 3].
        if (fields.Length < 20 || fields[0] is "Z" or "X" or "x") return null;
        if (!ulong.TryParse(fields[22 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out ulong startTime)) return null;
        return new QemuProcessIdentity(pid, startTime);
    }

    /// <summary>True while this very process runs (same pid, same start time, not a zombie).</summary>
    public bool IsRunning(string procRoot = "/proc") => Of(Pid, procRoot) == this;
}
