using System.Globalization;
using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Vm;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Server;

/// <summary>One QEMU process whose connection to a region ended while the process ran on.</summary>
public sealed record UnpluggedQemu(QemuProcessIdentity Process, string Vm, string Region, int PeerId, DateTimeOffset At);

/// <summary>
/// The QEMU processes that lost an ivshmem device: a VM's connection to a region ended (QEMU closes
/// it only when the device and its chardev are removed, or when it exits) and the process is still
/// the same running process. QEMU 7.2 crashes when another ivshmem-doorbell is added to such a
/// process, so <c>ivshmemd attach</c> asks for this list and refuses (docs/migration.md,
/// "Re-attaching into the same QEMU process").
/// <para>
/// Every VM departure is recorded, and whether the process still runs is decided when the list is
/// read: at the moment of the departure an exiting QEMU may not have finished exiting. Entries of
/// processes that are gone are dropped then. The list is kept in
/// <c>&lt;state directory&gt;/unplugged-qemu</c> (one line per process), so a restarted daemon still
/// knows; it is written on every change (departures of VMs are rare). Thread-safe: recorded on the
/// event loop, read by the control socket's threads.
/// </para>
/// </summary>
internal sealed class UnpluggedQemuRegistry(string stateDirectory, ILogger log, string procRoot = "/proc")
{
    public const string FileName = "unplugged-qemu";
    private readonly object _gate = new();
    private List<UnpluggedQemu> _entries = [];

    public string FilePath { get; } = Path.Combine(stateDirectory, FileName);

    /// <summary>Reads what an earlier daemon recorded, keeping the processes that still run.</summary>
    public void Load()
    {
        string[] lines;
        try { lines = File.ReadAllLines(FilePath); }
        catch (FileNotFoundException) { return; }
        catch (DirectoryNotFoundException) { return; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.UnpluggedQemuFileFailed(FilePath, "read", e.Message);
            return;
        }
        var loaded = new List<UnpluggedQemu>();
        foreach (string line in lines)
            if (ParseLine(line) is { } entry && entry.Process.IsRunning(procRoot))
                loaded.Add(entry);
        lock (_gate) _entries = loaded;
    }

    /// <summary>A VM's connection ended: remembers its process (when it can still be identified).</summary>
    public void Record(QemuProcessIdentity? process, string vm, string region, int peerId)
    {
        if (process is not { } identity) return;
        lock (_gate)
        {
            Prune();
            if (!identity.IsRunning(procRoot)) return; // it exited: nothing to protect
            _entries.Add(new UnpluggedQemu(identity, vm, region, peerId, DateTimeOffset.UtcNow));
            Save();
        }
        log.QemuUnplugged(region, vm, identity.Pid);
    }

    /// <summary>The recorded processes that still run.</summary>
    public IReadOnlyList<UnpluggedQemu> Current()
    {
        lock (_gate)
        {
            if (Prune()) Save();
            return _entries.ToArray();
        }
    }

    private bool Prune() => _entries.RemoveAll(e => !e.Process.IsRunning(procRoot)) > 0;

    /// <summary>Written to a new file and renamed over the old one, so a crash leaves one or the other.</summary>
    private void Save()
    {
        string temporary = FilePath + ".new";
        try
        {
            File.WriteAllLines(temporary, _entries.Select(FormatLine));
            File.Move(temporary, FilePath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.UnpluggedQemuFileFailed(FilePath, "written", e.Message);
        }
    }

    /// <summary>"PID STARTTIME UNIXSECONDS PEERID REGION VM": region names have no spaces; the VM
    /// name (which may) comes last and takes the rest of the line.</summary>
    internal static string FormatLine(UnpluggedQemu e) => string.Join(' ',
        e.Process.Pid.ToString(CultureInfo.InvariantCulture), e.Process.StartTime.ToString(CultureInfo.InvariantCulture),
        e.At.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), e.PeerId.ToString(CultureInfo.InvariantCulture), e.Region, e.Vm);

    internal static UnpluggedQemu? ParseLine(string line)
    {
        string[] parts = line.Split(' ', 6);
        if (parts.Length != 6
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong startTime)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long at)
            || !int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out int peerId)
            || at > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            return null;
        return new UnpluggedQemu(new QemuProcessIdentity(pid, startTime), parts[5], parts[4], peerId, DateTimeOffset.FromUnixTimeSeconds(at));
    }
}
