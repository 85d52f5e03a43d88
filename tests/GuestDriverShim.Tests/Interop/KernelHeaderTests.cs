using System.Reflection;
using Ivshmem.Peer.Guest;
using Ivshmem.Tests.Common;

namespace Ivshmem.Peer.Tests;

/// <summary>
/// Proves the peer library's bindings against the kernel's own headers (linux/vfio.h,
/// linux/pci_regs.h, linux/netlink.h (the uevent socket) from linux-libc-dev, and the libc headers for the shared socket, poll and epoll code):
/// a C program static_asserts every constant, every struct size and every field offset of Interop
/// (tests/Common/KernelHeaderProgram.cs), and gcc compiles it. If one is wrong, the compile fails and
/// says which.
/// </summary>
public sealed class KernelHeaderTests
{
    // Newer headers append a pad word to vfio_device_info (24 bytes); the kernel reads only up to
    // num_irqs (argsz tells it how much we pass), so a larger C struct is fine there.
    private static readonly HashSet<string> MayGrow = ["vfio_device_info"];

    private static readonly Type InteropType = KernelHeaderProgram.InteropOf(typeof(GuestDevice));

    [Fact]
    public void EveryConstantAndStructLayoutMatchesTheKernelHeaders()
    {
        KernelHeaderProgram program = GenerateProgram();
        Assert.True(program.Count > 80, $"only {program.Count} checks were generated: the reflection found too little");
        // The hot-plug bindings (docs/guest.md, "When the device comes and goes") are among them.
        foreach (string name in new[] { "VFIO_PCI_REQ_IRQ_INDEX", "NETLINK_KOBJECT_UEVENT", "ENOBUFS", "struct sockaddr_nl" })
            Assert.Contains(name, program.Source);

        using var dir = new TempDirectory();
        var (exitCode, output) = program.Compile(dir.Path);
        Assert.True(exitCode == 0, $"the bindings disagree with the kernel headers:\n{output}\n--- program ---\n{program.Source}");
    }

    [Fact]
    public void TheGeneratedProgramCatchesAWrongValue()
    {
        // The check itself must be able to fail: a deliberately wrong assertion does not compile.
        using var dir = new TempDirectory();
        var (exitCode, output) = KernelHeaderProgram.CompileSource(dir.Path,
            "#include <linux/vfio.h>\n_Static_assert(VFIO_DEVICE_SET_IRQS == 0x3B6F, \"VFIO_DEVICE_SET_IRQS\");\n");
        Assert.NotEqual(0, exitCode);
        Assert.Contains("VFIO_DEVICE_SET_IRQS", output);
    }

    internal static KernelHeaderProgram GenerateProgram()
    {
        var program = new KernelHeaderProgram().Include("errno.h", "poll.h", "sys/epoll.h", "sys/socket.h", "sys/un.h", "linux/vfio.h", "linux/pci_regs.h", "linux/netlink.h");
        program.Constants(InteropType, name =>
            name.StartsWith("VFIO_", StringComparison.Ordinal) || name.StartsWith("PCI_", StringComparison.Ordinal) || name.StartsWith("NETLINK_", StringComparison.Ordinal) ? name
            : (name.StartsWith("POLL", StringComparison.Ordinal) || name.StartsWith("EPOLL", StringComparison.Ordinal)) && name.EndsWith('_') ? name[..^1]
            : name.Length > 1 && name[0] == 'E' && name.All(char.IsAsciiLetterUpper) ? name
            : name switch
            {
                "SockaddrUnSize" => "sizeof(struct sockaddr_un)",
                "SunPathOffset" => "offsetof(struct sockaddr_un, sun_path)",
                "MaxSocketPathBytes" => "sizeof(((struct sockaddr_un*)0)->sun_path) - 1",
                _ => null,
            });
        foreach (Type type in InteropType.GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public))
            if (type.Name.StartsWith("vfio_", StringComparison.Ordinal) || type.Name == "sockaddr_nl") program.Struct(type, mayGrow: MayGrow.Contains(type.Name));
        return program;
    }
}
