using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>
/// The daemon with 'libvirt: {follow: true}' on a host without libvirt0: it serves its regions and
/// says once what is missing. Where libvirt is installed the test hides libvirt.so.0 from the daemon
/// (a private mount namespace with /dev/null bound over the library, as root); where it is not, the
/// host is already the case under test.
/// </summary>
public sealed class LibvirtMissingTests
{
    internal const string LibraryDirectory = "/usr/lib/x86_64-linux-gnu";

    internal static bool Installed => File.Exists(Path.Combine(LibraryDirectory, "libvirt.so.0"));

    [LibvirtHideableFact]
    public async Task WithoutLibvirt0TheDaemonServesItsRegionsAndSaysWhatIsMissing()
    {
        using var dir = new TestDirectory();
        string config = dir.File("ivshmemd.yaml");
        File.WriteAllText(config, $$"""
            runtime_directory: {{dir.Path}}
            libvirt: {uri: "qemu:///system", follow: true}
            regions: [{name: r, size: 1M, vms: [a, b]}]
            """);
        string run = $"exec timeout --preserve-status -s TERM 5 {ChildProcess.IvshmemdBinary} run --config {config}";
        string script = Installed
            ? $"mount --bind /dev/null {new FileInfo(Path.Combine(LibraryDirectory, "libvirt.so.0")).ResolveLinkTarget(true)!.FullName} && {run}"
            : run;

        CliResult result = await ChildProcess.RunAsync(Installed ? "unshare" : "sh",
            Installed ? ["--mount", "sh", "-c", script] : ["-c", script]);

        Assert.True(result.ExitCode == 0, result.ToString()); // stopped by SIGTERM, cleanly
        Assert.Contains("[1001] Region 'r'", result.Error);
        Assert.Contains("[7003] libvirt: libvirt0 is not installed (libvirt.so.0 could not be loaded); install it with 'apt-get install libvirt0'", result.Error);
        Assert.DoesNotContain("[7000]", result.Error);
    }
}

/// <summary>Skips (with the reason) where libvirt0 is installed but this process cannot hide it (not root).</summary>
public sealed class LibvirtHideableFactAttribute : FactAttribute
{
    public LibvirtHideableFactAttribute()
    {
        if (LibvirtMissingTests.Installed && !Environment.IsPrivilegedProcess)
            Skip = "needs root: libvirt0 is installed, and hiding it from the daemon takes a private mount namespace";
    }
}
