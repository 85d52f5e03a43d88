namespace Ivshmem.Daemon.Doctor;

/// <summary>
/// The system files doctor reads, below a root directory: "/" for the real host; a temporary
/// directory in tests, where broken setups are built from real files. What it maps: /proc (meminfo,
/// mounts, self/limits), /sys (huge page pools, AppArmor, SELinux), /etc/libvirt/qemu.conf and the
/// libvirt helpers under /usr. Paths named in the configuration (sockets, shm files, hugetlbfs
/// mounts) are never mapped: they are checked where they are, as the daemon would use them.
/// </summary>
internal sealed class HostView
{
    /// <summary>The environment variable that names the QEMU binary when --qemu is not given.</summary>
    public const string QemuVariable = "IVSHMEMD_QEMU";

    /// <summary>The QEMU binary looked for on $PATH when neither --qemu nor $IVSHMEMD_QEMU names one.</summary>
    public const string QemuName = "qemu-system-x86_64";

    public const string QemuConf = "/etc/libvirt/qemu.conf";

    /// <param name="root">The directory that stands for "/".</param>
    /// <param name="qemuBinary">The QEMU to ask; null: $IVSHMEMD_QEMU, else qemu-system-x86_64 on
    /// $PATH, else /usr/libexec/qemu-kvm (RHEL's name for it).</param>
    public HostView(string root = "/", string? qemuBinary = null)
    {
        Root = root;
        _qemuBinary = qemuBinary;
    }

    private readonly string? _qemuBinary;

    /// <summary>The real host.</summary>
    public static HostView Real(string? qemuBinary = null) => new("/", qemuBinary);

    public string Root { get; }

    /// <summary>Where the system path <paramref name="absolute"/> is in this view.</summary>
    public string Path(string absolute) => Root == "/" ? absolute : System.IO.Path.Join(Root, absolute);

    /// <summary>The file's text, or null when it does not exist or cannot be read.</summary>
    public string? ReadText(string absolute)
    {
        try { return File.ReadAllText(Path(absolute)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public bool Exists(string absolute) => File.Exists(Path(absolute)) || Directory.Exists(Path(absolute));

    /// <summary>The QEMU binary to check and where its name came from ("--qemu", "$IVSHMEMD_QEMU",
    /// "$PATH"); Path is null when none was found.</summary>
    public (string? Path, string Source) QemuBinary()
    {
        if (_qemuBinary is not null)
            return (_qemuBinary, "--qemu");
        if (Environment.GetEnvironmentVariable(QemuVariable) is { Length: > 0 } fromEnvironment)
            return (fromEnvironment, "$" + QemuVariable);
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Join(directory, QemuName);
            if (File.Exists(candidate))
                return (candidate, "$PATH");
        }
        const string rhel = "/usr/libexec/qemu-kvm";
        return File.Exists(Path(rhel)) ? (Path(rhel), "/usr/libexec") : (null, "$PATH");
    }
}
