using System.Globalization;
using System.Text.Json;

namespace Ivshmem.Daemon.Vm;

/// <summary>
/// Works around QEMU 7.2's stale vector handlers (docs/migration.md, "Re-attaching into the same QEMU
/// process"): a removed ivshmem-doorbell leaves fd handlers on the numbers of its vector eventfds, and
/// any later fd that gets one of those numbers and becomes readable (a migration's socket) calls into
/// the freed device. Right after the removal, QEMU is given an eventfd that is never signalled to keep
/// (QMP getfd) on each eventfd number the device freed, so that nothing readable can land there. Seen
/// from outside through /proc/PID/fd, which needs the rights to read QEMU's /proc (root, or QEMU's
/// user); without them nothing is held.
/// </summary>
internal static class RemovedDeviceFds
{
    /// <summary>At most this many getfd tries per removal (each lands on the lowest free number, which
    /// may be a hole below the freed ones).</summary>
    private const int MaxTries = 256;

    /// <summary>The fd numbers of the eventfds process <paramref name="pid"/> has open; empty when its
    /// /proc cannot be read.</summary>
    public static HashSet<int> EventFds(int pid) => OpenFds(pid, eventFdsOnly: true);

    /// <summary>Holds every number in <paramref name="freed"/> that is still free with an inert eventfd
    /// named <c>PREFIX-N</c> in QEMU; placeholders that landed elsewhere are closed again. Returns how
    /// many numbers are held.</summary>
    public static async Task<int> HoldAsync(QmpClient qmp, IReadOnlySet<int> freed, string prefix, CancellationToken cancellationToken)
    {
        int pid = qmp.PeerPid;
        HashSet<int> open = OpenFds(pid, eventFdsOnly: false);
        var uncovered = new HashSet<int>(freed.Where(n => !open.Contains(n)));
        int held = 0;
        var strays = new List<string>();
        for (int attempt = 0; uncovered.Count > 0 && attempt < MaxTries; attempt++)
        {
            string name = $"{prefix}-{attempt}";
            int placeholder = Interop.EventFdCreate();
            try { await qmp.ExecuteAsync("getfd", new FdNameArguments(name), QmpJson.Default.FdNameArguments, placeholder, cancellationToken).ConfigureAwait(false); }
            finally { Interop.Close(placeholder); }
            HashSet<int> now = OpenFds(pid, eventFdsOnly: false);
            List<int> landed = now.Where(n => !open.Contains(n)).ToList();
            open = now;
            if (landed.Count == 1 && uncovered.Remove(landed[0])) held++;
            else strays.Add(name);
        }
        foreach (string stray in strays)
            await qmp.ExecuteAsync("closefd", new FdNameArguments(stray), QmpJson.Default.FdNameArguments, cancellationToken).ConfigureAwait(false);
        return held;
    }

    private static HashSet<int> OpenFds(int pid, bool eventFdsOnly)
    {
        var fds = new HashSet<int>();
        string directory = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd";
        try
        {
            foreach (string entry in Directory.EnumerateFileSystemEntries(directory))
            {
                if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd)) continue;
                if (eventFdsOnly && new FileInfo(entry).LinkTarget != "anon_inode:[eventfd]") continue;
                fds.Add(fd);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* not ours to read, or it exited */ }
        return fds;
    }
}
