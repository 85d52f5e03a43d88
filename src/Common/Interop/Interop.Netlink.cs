using System.Runtime.InteropServices;

#pragma warning disable CS8981 // the struct's name is the kernel header's own, so the header proofs can name it

namespace Ivshmem;

/// <summary>A netlink socket's address (linux/netlink.h), shared by the agent's rtnetlink
/// (Interop.Netlink in the agent) and the peer library's kernel uevents (Interop.Uevent); the
/// header tests of both prove its layout.</summary>
internal static partial class Interop
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct sockaddr_nl
    {
        public ushort nl_family;
        public ushort nl_pad;
        public uint nl_pid;
        public uint nl_groups;
    }
}
