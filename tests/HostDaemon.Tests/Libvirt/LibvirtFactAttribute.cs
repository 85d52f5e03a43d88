using System.Runtime.InteropServices;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>
/// A <see cref="FactAttribute"/> for tests against a real libvirtd (<see cref="PrivateLibvirtd"/>): they
/// need root (libvirtd's system instance, a private mount namespace) and Debian's libvirt packages
/// (scripts/test installs them). xunit 2 decides skips at discovery, so the reason is worked out here.
/// </summary>
public sealed class LibvirtFactAttribute : FactAttribute
{
    public LibvirtFactAttribute()
    {
        if (SkipReason() is { } reason) Skip = reason;
    }

    internal static string? SkipReason()
    {
        if (!Environment.IsPrivilegedProcess)
            return "needs root: starts its own libvirtd (system instance) in a private mount namespace (run scripts/test as root)";
        if (!File.Exists(PrivateLibvirtd.Program))
            return $"needs libvirt: {PrivateLibvirtd.Program} is missing (apt-get install libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients; scripts/test does)";
        if (!NativeLibrary.TryLoad("libvirt.so.0", out IntPtr handle))
            return "needs libvirt0: libvirt.so.0 cannot be loaded (apt-get install libvirt0)";
        NativeLibrary.Free(handle);
        if (!File.Exists("/usr/bin/virsh"))
            return "needs virsh to define and start test domains (apt-get install libvirt-clients)";
        return null;
    }
}
