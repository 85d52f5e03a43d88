using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Doctor;

/// <summary>Checks "apparmor" and "selinux": which mandatory access control is active, and what it
/// means for libvirt's QEMU reaching the region sockets.</summary>
internal static class SecurityChecks
{
    public static CheckResult AppArmor(HostView host, LibvirtQemuConf? libvirt, IReadOnlyList<RegionOptions> regions)
    {
        bool enabled = host.Exists("/sys/kernel/security/apparmor")
            || host.ReadText("/sys/module/apparmor/parameters/enabled")?.Trim() == "Y";
        if (!enabled)
            return CheckResult.Pass("apparmor", "AppArmor is not enabled");
        if (libvirt is null)
            return CheckResult.Pass("apparmor", $"AppArmor is enabled; no libvirt ({HostView.QemuConf}): a QEMU started by hand runs unconfined unless you confine it");
        if (libvirt.SecurityDriver is "none")
            return CheckResult.Pass("apparmor", $"AppArmor is enabled; libvirt does not confine QEMU (security_driver = \"none\" in {HostView.QemuConf})");
        string sockets = string.Join(", ", regions.Select(r => r.SocketPath));
        if (!host.Exists("/usr/lib/libvirt/virt-aa-helper") && !host.Exists("/usr/libexec/virt-aa-helper"))
            return CheckResult.Warn("apparmor",
                $"AppArmor is enabled and libvirt is installed, but virt-aa-helper is not: libvirt's QEMU profile may not allow {(sockets.Length > 0 ? sockets : "the region sockets")}",
                "install libvirt's AppArmor support (apparmor and libvirt-daemon-system), or allow each socket (rw) in /etc/apparmor.d/local/abstractions/libvirt-qemu");
        return CheckResult.Pass("apparmor",
            $"AppArmor is enabled; virt-aa-helper adds each domain's <shmem> <server path> (rw) to its profile{(sockets.Length > 0 ? ": " + sockets : "")}; on an apparmor=\"DENIED\" audit line for a socket, allow it in /etc/apparmor.d/local/abstractions/libvirt-qemu");
    }

    public static CheckResult SeLinux(HostView host, LibvirtQemuConf? libvirt, IReadOnlyList<RegionOptions> regions)
    {
        string? enforce = host.ReadText("/sys/fs/selinux/enforce")?.Trim();
        if (enforce is null)
            return CheckResult.Pass("selinux", "SELinux is not enabled");
        if (enforce != "1")
            return CheckResult.Pass("selinux", "SELinux is permissive: denials are logged, not enforced");
        if (libvirt?.SecurityDriver is "none")
            return CheckResult.Pass("selinux", $"SELinux is enforcing; libvirt does not confine QEMU (security_driver = \"none\" in {HostView.QemuConf})");
        string directories = string.Join(", ", regions.Select(r => System.IO.Path.GetDirectoryName(r.SocketPath)!).Distinct());
        return CheckResult.Warn("selinux",
            $"SELinux is enforcing: libvirt's QEMU runs as svirt_t, which may not connect to sockets of an unconfined daemon{(directories.Length > 0 ? " in " + directories : "")}",
            "if QEMU gets \"Permission denied\", see 'ausearch -m AVC -c qemu-kvm' and allow it with a local policy module (audit2allow -M ivshmemd-local)");
    }
}
