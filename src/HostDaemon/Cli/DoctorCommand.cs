using System.CommandLine;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Doctor;

namespace Ivshmem.Daemon.Cli;

/// <summary><c>ivshmemd doctor [--config FILE] [--vm NAME]</c>: what on this host stops ivshmemd or
/// its VMs, one check per line with the fix.</summary>
internal static class DoctorCommand
{
    public static (Command, ManPage) Create()
    {
        var config = ConfigFileOption.Create();
        var vm = new Option<string>("--vm")
        {
            Description = "Check only the regions whose 'vms' list names this VM.",
            HelpName = "NAME",
        };
        vm.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && result.Tokens[0].Value.StartsWith('-'))
                result.AddError($"--vm needs a VM name, not '{result.Tokens[0].Value}' (VM names starting with '-' are not supported)");
        });
        var qemu = new Option<string>("--qemu")
        {
            Description = $"The QEMU binary to check (default: ${HostView.QemuVariable}, else {HostView.QemuName} on $PATH).",
            HelpName = "PATH",
        };
        var command = new Command("doctor", Page.Summary) { config, vm, qemu };
        command.SetAction((parseResult, cancellationToken) =>
            DoctorRun.RunAsync(parseResult.GetRequiredValue(config), parseResult.GetValue(vm), HostView.Real(parseResult.GetValue(qemu)),
                parseResult.InvocationConfiguration.Output, cancellationToken));
        return (command, Page);
    }

    private static readonly ManPage Page = new()
    {
        Summary = "check this host for what would stop ivshmemd or its VMs",
        Synopsis = ["ivshmemd doctor [--config FILE] [--vm NAME] [--qemu PATH]"],
        Description =
        [
            "Checks the host against the configuration, the way virt-host-validate(1) checks a host for libvirt, and prints one line per check:",
            "  PASS  CHECK: what was found\n  WARN  CHECK: what was found; fix: what to do\n  FAIL  CHECK: what was found; fix: what to do",
            "then a count of each. FAIL means something will not work: the daemon will not start, or QEMU will not connect. WARN means it works here but may not in some setups, or doctor cannot tell. Changes nothing. Run it as root to see what the daemon sees; the checks judge permissions for the users involved (root for the daemon, QEMU's user for the sockets), not for the user who runs doctor.",
            "The checks, in order:",
            "  qemu             QEMU is installed and runs (-device help)\n  qemu-ivshmem     it has the ivshmem-doorbell device\n  config           FILE is valid (as check-config)\n  vm               --vm NAME is in some region\n  user             socket_owner, allow.users, host_users exist\n  group            control_group, socket_group, allow.groups\n                   exist\n  socket-dir       every socket's directory exists, or 'run'\n                   creates it; no other file where a socket goes\n  socket-access    QEMU's user may write to each region socket\n                   and passes its allow lists\n  socket-path      QEMU's user may search every directory on the\n                   way to the socket\n  apparmor         AppArmor state; libvirt's profile for QEMU\n  selinux          SELinux state; svirt_t and the sockets\n  hugetlbfs-mount  each hugetlbfs region's mount and page size\n  hugepages        free huge pages of that size for the regions\n  shm-space        room for each shm-file on its filesystem\n  memory           memfd and shm-file regions against\n                   MemAvailable (WARN above half)\n  memlock          RLIMIT_MEMLOCK of running QEMUs that lock\n                   their memory (-overcommit mem-lock=on)\n  daemon           ivshmemd answers on the control socket and\n                   serves every region of FILE",
            "QEMU's user is libvirt's: 'user' and 'group' in /etc/libvirt/qemu.conf (where it sets none, libvirt-qemu or qemu, whichever exists), with the supplementary groups of that user, as libvirt gives them. Without libvirt, the users in a region's allow.users and host_users stand for QEMU's user. A socket that exists is checked as it is; otherwise as 'run' will create it: owner socket_owner or root, group socket_group or root's, mode socket_mode.",
            "'run' creates the runtime directory and the control socket's directory when they are missing, but not the directory of a region's own 'socket:'; a missing directory is judged for root (it cannot be created below a file that is not a directory, or on a read-only filesystem).",
            "Regions the running daemon already serves hold their memory already: hugepages, shm-space and memory count only the regions still to be created. If the configuration is not valid, only the qemu checks and the config line are printed.",
        ],
        ExitStatus =
        [
            .. RootManPage.StandardExitStatus("no check failed; there may be warnings",
                "at least one check failed (a FAIL line); its fix is on the same line"),
        ],
        Environment =
        [
            new(HostView.QemuVariable, $"The QEMU binary to check when --qemu is not given (default: {HostView.QemuName} on $PATH, else /usr/libexec/qemu-kvm)."),
            new("RUNTIME_DIRECTORY", $"As for 'ivshmemd run': the runtime directory when the configuration gives none (default {DefaultPaths.RuntimeDirectory})."),
        ],
        Files =
        [
            new(DefaultPaths.ConfigFile, "Checked when --config is not given."),
            new(HostView.QemuConf, "libvirt's QEMU user, group and security_driver."),
            new("/proc/meminfo, /proc/mounts", "MemAvailable, the default huge page size, hugetlbfs mounts."),
            new("/sys/kernel/mm/hugepages/", "Free huge pages of each size."),
            new("/sys/kernel/security/apparmor, /sys/fs/selinux/enforce", "Whether AppArmor is enabled and SELinux enforcing."),
        ],
        Examples =
        [
            new("ivshmemd doctor", $"Check this host against {DefaultPaths.ConfigFile}."),
            new("ivshmemd doctor --vm web", "Check only what VM 'web' needs."),
            new("ivshmemd doctor --config new.yaml | grep -v '^PASS'", "Show only what needs doing."),
        ],
        SeeAlso = ["ivshmemd check-config --help", "virt-host-validate(1)", "docs/doctor.md"],
    };
}
