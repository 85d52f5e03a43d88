using System.Reflection;
using Ivshmem.Agent.Net;
using Ivshmem.Tests.Common;

namespace Ivshmem.Peer.Tests;

/// <summary>
/// Proves the agent's own bindings for 'net' (TUN ioctls and flags, struct ifreq and
/// virtio_net_hdr, rtnetlink's numbers and message structs, and the shared errno/poll/socket code it
/// links) against the kernel's headers (linux/if.h, linux/if_tun.h, linux/virtio_net.h,
/// linux/netlink.h, linux/rtnetlink.h from linux-libc-dev): a C program of static_asserts
/// (tests/Common/KernelHeaderProgram.cs) that gcc must compile.
/// </summary>
public sealed class NetKernelHeaderTests
{
    private static readonly Type InteropType = KernelHeaderProgram.InteropOf(typeof(TunDevice));

    private static readonly string[] Structs = ["ifreq", "virtio_net_hdr", "nlmsghdr", "nlmsgerr", "rtattr", "rtmsg", "ifaddrmsg", "ifinfomsg", "sockaddr_nl"];

    [Fact]
    public void EveryConstantAndStructLayoutMatchesTheKernelHeaders()
    {
        var program = new KernelHeaderProgram().Include("errno.h", "poll.h", "sys/epoll.h", "sys/ioctl.h", "sys/socket.h", "sys/un.h", "linux/if.h", "linux/if_tun.h",
            "linux/virtio_net.h", "linux/netlink.h", "linux/rtnetlink.h", "linux/if_addr.h", "linux/if_link.h");
        List<string> constants = program.Constants(InteropType, name => name switch
        {
            "VirtioNetHdrSize" => "sizeof(struct virtio_net_hdr)",
            "SockaddrUnSize" => "sizeof(struct sockaddr_un)",
            "SunPathOffset" => "offsetof(struct sockaddr_un, sun_path)",
            "MaxSocketPathBytes" => "sizeof(((struct sockaddr_un*)0)->sun_path) - 1",
            _ when (name.StartsWith("POLL", StringComparison.Ordinal) || name.StartsWith("EPOLL", StringComparison.Ordinal)) && name.EndsWith('_') => name[..^1],
            _ when name.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_') => name,
            _ => null,
        });
        foreach (string name in Structs)
            program.Struct(InteropType.GetNestedType(name, BindingFlags.NonPublic) ?? throw new InvalidOperationException($"no struct {name} in the bindings"));
        foreach (string expected in new[] { "TUNSETIFF", "TUNSETOFFLOAD", "IFF_VNET_HDR", "RTM_NEWROUTE", "RTA_PREFSRC", "IFLA_GSO_MAX_SIZE", "RT_SCOPE_NOWHERE", "VirtioNetHdrSize" })
            Assert.Contains(expected, constants);

        using var dir = new TempDirectory();
        var (exitCode, gcc) = program.Compile(dir.Path);
        Assert.True(exitCode == 0, $"the bindings disagree with the kernel headers:\n{gcc}\n--- program ---\n{program.Source}");
    }
}
