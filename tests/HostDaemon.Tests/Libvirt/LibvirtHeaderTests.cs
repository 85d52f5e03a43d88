using Ivshmem.Daemon.Libvirt;
using Ivshmem.Tests.Common;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>Proves every constant of the libvirt bindings (LibvirtNative, named as in C) against libvirt's
/// own headers (Debian package libvirt-dev; scripts/test installs it), as SystemHeaderTests does for libc.</summary>
public sealed class LibvirtHeaderTests
{
    private static KernelHeaderProgram Program(out List<string> names)
    {
        var program = new KernelHeaderProgram().Include("libvirt/libvirt.h", "libvirt/virterror.h");
        names = program.Constants(typeof(LibvirtNative), name => name.StartsWith("VIR_", StringComparison.Ordinal) ? name : null);
        return program;
    }

    [Fact]
    public void EveryLibvirtConstantMatchesLibvirtsHeaders()
    {
        KernelHeaderProgram program = Program(out List<string> names);
        Assert.Superset(new HashSet<string> { "VIR_DOMAIN_AFFECT_LIVE", "VIR_DOMAIN_EVENT_ID_LIFECYCLE", "VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED", "VIR_DOMAIN_EVENT_STARTED_MIGRATED", "VIR_ERR_NO_DOMAIN" }, names.ToHashSet());
        Assert.True(File.Exists("/usr/include/libvirt/libvirt.h"), "libvirt's headers are missing: apt-get install libvirt-dev (scripts/test installs it)");

        string dir = Directory.CreateTempSubdirectory("ivshmemd-libvirt-headers-").FullName;
        try
        {
            var (exitCode, output) = program.Compile(dir);
            Assert.True(exitCode == 0, $"the libvirt bindings disagree with libvirt's headers:\n{output}\n--- program ---\n{program.Source}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AWrongConstantFailsTheCheck()
    {
        KernelHeaderProgram program = Program(out _).Equal("VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED", 14, "VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED");
        string dir = Directory.CreateTempSubdirectory("ivshmemd-libvirt-headers-").FullName;
        try
        {
            var (exitCode, _) = program.Compile(dir);
            Assert.NotEqual(0, exitCode);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
