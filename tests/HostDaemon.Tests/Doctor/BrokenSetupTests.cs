using Ivshmem.Daemon.Cli;

namespace Ivshmem.Daemon.Tests.Doctor;

/// <summary>
/// One broken setup per test, built from real files, each caught by its own check with its own fix.
/// Every test starts from a host where all checks pass (except "daemon", which warns that nothing
/// runs), breaks one thing, and looks for that check's line.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BrokenSetupTests
{
    /// <summary>The single line of <paramref name="check"/> with <paramref name="verdict"/>.</summary>
    private static string Line(string[] lines, string verdict, string check) =>
        Assert.Single(lines, l => l.StartsWith($"{verdict}  {check}: ", StringComparison.Ordinal));

    [Fact]
    public async Task TheHealthyHostPassesEveryCheckButTheDaemon()
    {
        using var host = new BrokenHost();
        host.LibvirtRunsQemuAs("nobody", "nogroup");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Equal(
            ["qemu", "qemu-ivshmem", "config", "user", "group", "socket-dir", "socket-access", "socket-path", "apparmor", "selinux",
             "hugepages", "shm-space", "memory", "memlock", "daemon"],
            lines[..^1].Select(l => l[6..l.IndexOf(':')]));
        Assert.All(lines[..^2], l => Assert.StartsWith("PASS  ", l));
        Assert.StartsWith("WARN  daemon: ivshmemd is not running: ", lines[^2]);
        Assert.Equal("ivshmemd doctor: 15 checks: 14 passed, 1 warning, 0 failed", lines[^1]);
    }

    [Fact]
    public async Task NoQemu()
    {
        using var host = new BrokenHost();
        host.Qemu = Path.Combine(host.Dir, "no-such-qemu");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  qemu: {host.Qemu} (from --qemu) does not exist; fix: install QEMU, or name an existing binary with --qemu PATH or $IVSHMEMD_QEMU", Line(lines, "FAIL", "qemu"));
        Assert.DoesNotContain(lines, l => l.Contains("qemu-ivshmem", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QemuBuiltWithoutIvshmem()
    {
        using var host = new BrokenHost();
        host.Qemu = host.FakeQemu(withIvshmem: false);

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"PASS  qemu: {host.Qemu} (QEMU emulator version 9.9.9 (test))", Line(lines, "PASS", "qemu"));
        Assert.Equal($"FAIL  qemu-ivshmem: {host.Qemu} -device help does not list ivshmem-doorbell: this QEMU was built without ivshmem (CONFIG_IVSHMEM_DEVICE); " +
            "fix: install a QEMU built with ivshmem (Debian's and Fedora's qemu-system-x86 packages have it)", Line(lines, "FAIL", "qemu-ivshmem"));
    }

    [Fact]
    public async Task InvalidConfigurationNamesFileAndLineAndSkipsTheRest()
    {
        using var host = new BrokenHost();
        string config = host.Config("    - name: web-db\n      size: 3M\n      vms: [web, db]\n");

        (int exitCode, string[] lines) = await host.DoctorAsync(config);

        Assert.Equal(ExitCodes.Failure, exitCode);
        string line = Line(lines, "FAIL", "config");
        Assert.StartsWith($"FAIL  config: {config}:4:13: error: 'size' 3M (3145728 bytes) is not a power of two", line);
        Assert.EndsWith($"the checks that need the configuration were skipped; fix: see every error with 'ivshmemd check-config {config}'", line);
        Assert.Equal(4, lines.Length); // qemu, qemu-ivshmem, config, the count
    }

    [Fact]
    public async Task ControlGroupThatDoesNotExist()
    {
        using var host = new BrokenHost();

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion, "control_group: ivd-no-such-group\n"));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal("FAIL  group: control_group 'ivd-no-such-group' is not a group on this host; 'ivshmemd run' stops at the control socket (\"there is no group 'ivd-no-such-group'\"); " +
            $"fix: create it (groupadd --system ivd-no-such-group) or correct control_group in {host.Dir}/ivshmemd.yaml", Line(lines, "FAIL", "group"));
    }

    [Fact]
    public async Task SocketOwnerThatDoesNotExist()
    {
        using var host = new BrokenHost();

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion + "      socket_owner: ivd-no-such-user\n"));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal("FAIL  user: socket_owner 'ivd-no-such-user' of region 'web-db' is not a user on this host; 'ivshmemd run' cannot chown the socket and does not start; " +
            $"fix: create it (useradd --system --no-create-home ivd-no-such-user) or correct socket_owner in {host.Dir}/ivshmemd.yaml", Line(lines, "FAIL", "user"));
    }

    [Fact]
    public async Task SocketDirectoryThatRunDoesNotCreate()
    {
        using var host = new BrokenHost();
        string directory = Path.Combine(host.Dir, "not-yet");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion + $"      socket: {directory}/web-db.sock\n"));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  socket-dir: {directory} (sockets of region 'web-db') does not exist, and 'ivshmemd run' creates only the runtime directory, so it does not start; " +
            $"fix: mkdir -p {directory} (for the packaged unit also add it to ReadWritePaths=), or put the socket in the runtime directory", Line(lines, "FAIL", "socket-dir"));
    }

    [Fact]
    public async Task SocketDirectoryThatCannotBeCreated()
    {
        using var host = new BrokenHost();
        string file = Path.Combine(host.Dir, "a-file");
        File.WriteAllText(file, "not a directory");
        string directory = Path.Combine(file, "sub");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion + $"      socket: {directory}/web-db.sock\n"));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  socket-dir: {directory} (sockets of region 'web-db') does not exist and cannot be created: {file} is not a directory; " +
            $"fix: choose a socket path in an existing, writable directory in {host.Dir}/ivshmemd.yaml", Line(lines, "FAIL", "socket-dir"));
    }

    [Fact]
    public async Task AFileWhereTheSocketGoes()
    {
        using var host = new BrokenHost();
        File.WriteAllText(Path.Combine(host.RunDir, "web-db.sock"), "someone's data");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  socket-dir: {host.RunDir}/web-db.sock (region 'web-db') exists and is not a socket; 'ivshmemd run' will not replace it; " +
            $"fix: move that file away, or choose another socket path in {host.Dir}/ivshmemd.yaml", Line(lines, "FAIL", "socket-dir"));
    }

    [Fact]
    public async Task SocketModeShutsOutLibvirtsQemuUser()
    {
        using var host = new BrokenHost();
        host.LibvirtRunsQemuAs("nobody", "nogroup");
        string regions = BrokenHost.OneRegion.Replace("\"0666\"", "\"0660\"");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(regions));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  socket-access: region 'web-db': nobody ('user' in /etc/libvirt/qemu.conf) may not write to {host.RunDir}/web-db.sock: " +
            "'run' creates it with mode 0660, owner root, group root; QEMU fails with \"Permission denied\"; " +
            $"fix: set socket_group: nogroup (a group of nobody) and socket_mode: \"0660\" for region 'web-db' in {host.Dir}/ivshmemd.yaml", Line(lines, "FAIL", "socket-access"));
    }

    [Fact]
    public async Task AllowListThatRefusesLibvirtsQemuUser()
    {
        using var host = new BrokenHost();
        host.LibvirtRunsQemuAs("nobody", "nogroup");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion + "      allow:\n        users: [root]\n"));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal("FAIL  socket-access: region 'web-db': nobody ('user' in /etc/libvirt/qemu.conf) is not in allow.users and none of its groups is in allow.groups; the daemon refuses its QEMU; " +
            $"fix: add nobody to allow.users (or one of its groups to allow.groups) of region 'web-db' in {host.Dir}/ivshmemd.yaml", Line(lines, "FAIL", "socket-access"));
    }

    [Fact]
    public async Task DirectoryOnTheWayThatQemuCannotSearch()
    {
        using var host = new BrokenHost();
        host.LibvirtRunsQemuAs("nobody", "nogroup");
        string locked = Path.Combine(host.Dir, "locked");
        Directory.CreateDirectory(Path.Combine(locked, "sockets"));
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion + $"      socket: {locked}/sockets/web-db.sock\n"));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  socket-path: region 'web-db': nobody may not search {locked} (mode 0700, owner root, group root), so it cannot reach {locked}/sockets/web-db.sock; " +
            $"fix: chmod o+x {locked} (or give nobody's group g+x on it), or put the socket in a directory QEMU can reach", Line(lines, "FAIL", "socket-path"));
    }

    [Fact]
    public async Task SeLinuxEnforcingIsAWarningAndExitsZero()
    {
        using var host = new BrokenHost();
        host.Write("sys/fs/selinux/enforce", "1");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Equal($"WARN  selinux: SELinux is enforcing: libvirt's QEMU runs as svirt_t, which may not connect to sockets of an unconfined daemon in {host.RunDir}; " +
            "fix: if QEMU gets \"Permission denied\", see 'ausearch -m AVC -c qemu-kvm' and allow it with a local policy module (audit2allow -M ivshmemd-local)", Line(lines, "WARN", "selinux"));
    }

    [Fact]
    public async Task AppArmorWithLibvirtButNoVirtAaHelper()
    {
        using var host = new BrokenHost();
        host.LibvirtRunsQemuAs("nobody", "nogroup");
        host.Write("sys/kernel/security/apparmor/profiles", "");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.StartsWith("WARN  apparmor: AppArmor is enabled and libvirt is installed, but virt-aa-helper is not", Line(lines, "WARN", "apparmor"));
        Assert.EndsWith("fix: install libvirt's AppArmor support (apparmor and libvirt-daemon-system), or allow each socket (rw) in /etc/apparmor.d/local/abstractions/libvirt-qemu", Line(lines, "WARN", "apparmor"));
    }

    private static string HugeRegion(BrokenHost host) => $"""
            - name: bulk
              size: 4M
              backing: hugetlbfs
              hugepage_size: 2M
              hugetlbfs_mount: {host.HugeMount}
              vms: [web, db]

        """;

    [Fact]
    public async Task TooFewFreeHugePages()
    {
        using var host = new BrokenHost();
        host.Write("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "1\n");
        host.Write("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "1\n");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(HugeRegion(host)));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal("FAIL  hugepages: 1 free 2 MiB huge pages, but region 'bulk' needs 2: 'ivshmemd run' fails to size the file; " +
            "fix: echo 2 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages (to keep it: vm.nr_hugepages in /etc/sysctl.d/, for 2 MiB pages)", Line(lines, "FAIL", "hugepages"));
    }

    [Fact]
    public async Task HugetlbfsNotMounted()
    {
        using var host = new BrokenHost();
        host.Write("proc/mounts", "proc /proc proc rw 0 0\n");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(HugeRegion(host)));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  hugetlbfs-mount: region 'bulk': {host.HugeMount} is not a hugetlbfs mount; " +
            $"fix: mount -t hugetlbfs -o pagesize=2M hugetlbfs {host.HugeMount}, or set hugetlbfs_mount to a hugetlbfs mount", Line(lines, "FAIL", "hugetlbfs-mount"));
    }

    [Fact]
    public async Task ShmFileLargerThanItsFilesystem()
    {
        using var host = new BrokenHost();
        string shm = Path.Combine(host.Dir, "shm");
        Directory.CreateDirectory(shm);

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config($"    - name: big\n      size: 1T\n      backing: shm-file\n      shm_file: {shm}/big\n      vms: [web, db]\n"));

        Assert.Equal(ExitCodes.Failure, exitCode);
        string line = Line(lines, "FAIL", "shm-space");
        Assert.StartsWith($"FAIL  shm-space: {shm} has ", line);
        Assert.EndsWith(" free, but region 'big' needs 1 TiB; guests get SIGBUS when the file cannot grow; fix: free space on that filesystem, put shm_file on a larger tmpfs, or use memfd backing", line);
    }

    [Fact]
    public async Task RegionsLargerThanAvailableMemory()
    {
        using var host = new BrokenHost();
        host.Write("proc/meminfo", "MemTotal:  65536 kB\nMemAvailable:  32768 kB\nHugepagesize:  2048 kB\n");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion.Replace("1M", "64M")));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal("FAIL  memory: the memfd and shm-file regions need 64 MiB, more than the 32.0 MiB available (MemAvailable); their pages are allocated as guests touch them, and the OOM killer ends whoever comes last; " +
            "fix: make the regions smaller, add memory, or move large regions to hugetlbfs with reserved pages", Line(lines, "FAIL", "memory"));
    }

    [Fact]
    public async Task LockingQemuWithTooLowMemlockLimit()
    {
        using var host = new BrokenHost();
        host.Write("proc/4242/cmdline", "qemu-system-x86_64\0-name\0guest=web,debug-threads=on\0-overcommit\0mem-lock=on\0");
        host.Write("proc/4242/limits", "Limit                     Soft Limit           Hard Limit           Units\nMax locked memory         65536                65536                bytes\n");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Equal("WARN  memlock: QEMU of VM 'web' (pid 4242) locks its memory but may lock only 64 KiB, less than its regions alone (1 MiB); attaching a region fails; " +
            "fix: raise RLIMIT_MEMLOCK for that QEMU (libvirt sets it for <memoryBacking><locked/> domains; by hand: ulimit -l, or LimitMEMLOCK= in its unit) to its RAM plus its regions", Line(lines, "WARN", "memlock"));
    }

    [Fact]
    public async Task SomethingElseAnswersOnTheControlSocket()
    {
        using var host = new BrokenHost();
        using var impostor = BrokenHost.ServeAt(Path.Combine(host.RunDir, "control.sock"), "hello\n");

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  daemon: the daemon at {host.RunDir}/control.sock answered something that is not a status report; fix: systemctl restart ivshmemd; is another program listening on that socket?", Line(lines, "FAIL", "daemon"));
    }

    [Fact]
    public async Task ControlSocketLeftBehindByAKilledDaemon()
    {
        using var host = new BrokenHost();
        using var leftover = BrokenHost.ServeAt(Path.Combine(host.RunDir, "control.sock"), answer: null);

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion));

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.StartsWith($"WARN  daemon: ivshmemd is not running: cannot connect to {host.RunDir}/control.sock: nothing listens on it", Line(lines, "WARN", "daemon"));
        Assert.EndsWith("; fix: systemctl enable --now ivshmemd (or start 'ivshmemd run' with this configuration)", Line(lines, "WARN", "daemon"));
    }

    [Fact]
    public async Task VmThatNoRegionAdmits()
    {
        using var host = new BrokenHost();

        (int exitCode, string[] lines) = await host.DoctorAsync(host.Config(BrokenHost.OneRegion), vm: "wbe");

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal($"FAIL  vm: no region of {host.Dir}/ivshmemd.yaml admits VM 'wbe'; VMs it names: db, web; fix: add 'wbe' to the 'vms' of a region, or give the VM's name as the configuration spells it", Line(lines, "FAIL", "vm"));
    }

    [Fact]
    public async Task VmLimitsTheChecksToItsRegions()
    {
        using var host = new BrokenHost();
        string config = host.Config(BrokenHost.OneRegion + $"    - name: other\n      size: 1M\n      vms: [x, y]\n      socket: {host.Dir}/missing/other.sock\n");

        (int all, _) = await host.DoctorAsync(config);
        (int exitCode, string[] lines) = await host.DoctorAsync(config, vm: "web");

        Assert.Equal(ExitCodes.Failure, all); // region 'other' has no socket directory
        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Equal("PASS  vm: VM 'web' is in region 'web-db'; only these are checked", Line(lines, "PASS", "vm"));
        Assert.DoesNotContain(lines, l => l.Contains("other", StringComparison.Ordinal));
    }
}
