using System.Globalization;
using Ivshmem.Daemon.Server;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>
/// The process id of a running domain's QEMU. libvirt's API has no call for it; its QEMU driver writes
/// the pid to /run/libvirt/qemu/DOMAIN.pid for the system instance, and starts QEMU with
/// <c>-name guest=DOMAIN,...</c> in every instance. So: the pid file when it is there, else the one
/// QEMU process whose -name is the domain (docs/libvirt.md, "The QEMU process of a domain").
/// </summary>
internal static class DomainQemuPid
{
    public const string SystemPidDirectory = "/run/libvirt/qemu";

    /// <summary>The pid, or null when no QEMU of that domain runs (as far as this process can see).</summary>
    public static int? Find(string domainName)
    {
        if (FromPidFile(Path.Combine(SystemPidDirectory, domainName + ".pid"), domainName) is { } pid)
            return pid;
        return FromProcesses(domainName);
    }

    private static int? FromPidFile(string path, string domainName)
    {
        try
        {
            if (int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && IsQemuOf(pid, domainName))
                return pid;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    private static int? FromProcesses(string domainName)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && IsQemuOf(pid, domainName))
                return pid;
        return null;
    }

    /// <summary>Whether process <paramref name="pid"/> is a QEMU whose -name is <paramref name="domainName"/>
    /// (a pid file can outlive its process, and the pid be reused), by the rule the daemon admits QEMUs by.</summary>
    private static bool IsQemuOf(int pid, string domainName) =>
        AdmissionPolicy.Identify(pid) is (true, { } name) && name == domainName;
}
