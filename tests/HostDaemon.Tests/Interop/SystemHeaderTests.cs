using System.Reflection;
using Ivshmem.Tests.Common;
using Tmds.Linux;

namespace Ivshmem.Daemon.Tests.Interop;

/// <summary>
/// Proves the daemon's native bindings against the C headers, the way the guest library's VFIO
/// bindings are proven (tests/Common/KernelHeaderProgram.cs): every errno, poll, epoll, socket, file
/// and signal constant of its Interop class (the shared src/Common/Interop files included), the
/// sockaddr_un layout the socket code writes by hand, and the Tmds.LibC structs and constants that it
/// hands to the kernel.
/// </summary>
public sealed class SystemHeaderTests
{
    private static readonly Type DaemonInterop = KernelHeaderProgram.InteropOf(Assembly.Load("ivshmemd").GetTypes()[0]);

    /// <summary>Maps a constant of Interop to the C expression it must equal; null for values that are
    /// not the kernel's (buffer sizes and the like).</summary>
    internal static string? CExpression(string name) => name switch
    {
        "SockaddrUnSize" => "sizeof(struct sockaddr_un)",
        "SunPathOffset" => "offsetof(struct sockaddr_un, sun_path)",
        "MaxSocketPathBytes" => "sizeof(((struct sockaddr_un*)0)->sun_path) - 1",
        "HUGETLBFS_MAGIC" => name,
        "SIG_ERR_" or "SIG_DFL_" => $"(long){name[..^1]}", // pointers in C, integers in the bindings
        _ when name.EndsWith('_') => name[..^1],
        _ when name.Length > 1 && name[0] == 'E' && name.All(c => char.IsAsciiLetterUpper(c)) => name,
        _ => null,
    };

    private static KernelHeaderProgram Program(out List<string> names)
    {
        var program = new KernelHeaderProgram().Include(
            "errno.h", "poll.h", "signal.h", "fcntl.h", "sys/stat.h", "sys/epoll.h", "sys/socket.h", "sys/un.h",
            "sys/eventfd.h", "sys/mman.h", "linux/magic.h");
        names = program.Constants(DaemonInterop, CExpression);
        program.Struct(typeof(msghdr)).Struct(typeof(cmsghdr)).Struct(typeof(iovec)).Struct(typeof(pollfd))
            .Struct(typeof(epoll_event)).Struct(typeof(ucred));
        program.LibraryConstants(typeof(LibC),
            "AF_UNIX", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_CLOEXEC", "SOCK_NONBLOCK", "SOL_SOCKET", "SCM_RIGHTS",
            "SO_PEERCRED", "SO_PEERGROUPS", "SO_TYPE", "SO_SNDTIMEO", "MSG_NOSIGNAL", "MSG_DONTWAIT", "MSG_PEEK",
            "MSG_CMSG_CLOEXEC", "MSG_CTRUNC", "EPOLL_CLOEXEC", "EPOLL_CTL_ADD", "EPOLL_CTL_MOD", "EPOLL_CTL_DEL",
            "EFD_CLOEXEC", "EFD_NONBLOCK", "F_DUPFD_CLOEXEC", "F_GETFD", "F_SETFD", "FD_CLOEXEC", "F_ADD_SEALS",
            "F_SEAL_SEAL", "F_SEAL_SHRINK", "F_SEAL_GROW", "MFD_CLOEXEC", "MFD_ALLOW_SEALING", "MAP_SHARED",
            "MAP_ANONYMOUS", "PROT_READ", "PROT_WRITE", "O_RDWR", "O_CREAT", "O_CLOEXEC", "O_TMPFILE");
        return program;
    }

    [Fact]
    public void EveryConstantAndStructLayoutMatchesTheSystemHeaders()
    {
        KernelHeaderProgram program = Program(out List<string> names);
        // The reflection must find what the socket and event-loop code relies on, or the check is hollow.
        Assert.Superset(new HashSet<string> { "SockaddrUnSize", "SunPathOffset", "MaxSocketPathBytes", "EPOLLIN_", "EPOLLRDHUP_", "EPOLLET_", "POLLIN_", "POLLNVAL_", "EINTR", "ECONNABORTED", "ECONNREFUSED" }, names.ToHashSet());
        Assert.True(program.Count > 80, $"only {program.Count} checks were generated");

        string dir = Directory.CreateTempSubdirectory("ivshmemd-headers-").FullName;
        try
        {
            var (exitCode, output) = program.Compile(dir);
            Assert.True(exitCode == 0, $"the bindings disagree with the system headers:\n{output}\n--- program ---\n{program.Source}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AWrongBindingFailsTheCheck()
    {
        // The check must be able to fail: one wrong value among the generated ones stops the compile.
        KernelHeaderProgram program = Program(out _).Equal("EPOLLRDHUP", 0x2001, "EPOLLRDHUP_");
        string dir = Directory.CreateTempSubdirectory("ivshmemd-headers-").FullName;
        try
        {
            var (exitCode, output) = program.Compile(dir);
            Assert.NotEqual(0, exitCode);
            Assert.Contains("EPOLLRDHUP_ is 8193 in the bindings", output);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
