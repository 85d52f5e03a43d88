using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

#pragma warning disable CS8981 // struct names are the kernel headers' own (rtmsg, nlmsghdr), so the proof can name them

namespace Ivshmem;

/// <summary>
/// rtnetlink (netlink(7), rtnetlink(7); linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h,
/// linux/if_link.h) as far as <c>ivshmem-agent net</c> needs it: host routes, the machine's addresses,
/// the TUN device's link settings. Messages are built and parsed by <c>Net/Netlink*.cs</c>; this file
/// holds the numbers, the struct layouts and the socket calls. <c>NetKernelHeaderTests</c> proves
/// every value and layout here against the headers with a C compiler.
/// </summary>
internal static unsafe partial class Interop
{
    internal const int AF_NETLINK = 16;
    internal const int NETLINK_ROUTE = 0;
    internal const int SOL_NETLINK = 270;
    internal const int NETLINK_EXT_ACK = 11;

    internal const int NLMSG_ERROR = 2;
    internal const int NLMSG_DONE = 3;

    internal const int NLM_F_REQUEST = 0x1;
    internal const int NLM_F_MULTI = 0x2;
    internal const int NLM_F_ACK = 0x4;
    internal const int NLM_F_DUMP = 0x300;
    internal const int NLM_F_EXCL = 0x200;
    internal const int NLM_F_CREATE = 0x400;
    internal const int NLM_F_CAPPED = 0x100;
    internal const int NLM_F_ACK_TLVS = 0x200;

    /// <summary>The extended-ack attribute with the kernel's error text ("Invalid prefsrc address").</summary>
    internal const int NLMSGERR_ATTR_MSG = 1;

    internal const int RTM_NEWLINK = 16;
    internal const int RTM_DELLINK = 17;
    internal const int RTM_GETLINK = 18;
    internal const int RTM_NEWADDR = 20;
    internal const int RTM_GETADDR = 22;
    internal const int RTM_NEWROUTE = 24;
    internal const int RTM_DELROUTE = 25;
    internal const int RTM_GETROUTE = 26;

    internal const int RTA_DST = 1;
    internal const int RTA_OIF = 4;
    internal const int RTA_PREFSRC = 7;
    internal const int RTA_TABLE = 15;

    internal const int RTN_UNICAST = 1;
    internal const int RTN_LOCAL = 2;
    internal const int RTN_BROADCAST = 3;
    internal const int RTN_MULTICAST = 5;

    internal const int RT_SCOPE_UNIVERSE = 0;
    internal const int RT_SCOPE_LINK = 253;
    internal const int RT_SCOPE_HOST = 254;
    internal const int RT_SCOPE_NOWHERE = 255;
    internal const int RT_TABLE_MAIN = 254;

    internal const int IFA_ADDRESS = 1;
    internal const int IFA_LOCAL = 2;
    internal const int IFA_FLAGS = 8;
    internal const int IFA_F_DADFAILED = 0x08;
    internal const int IFA_F_TENTATIVE = 0x40;

    internal const int ESRCH = 3;

    internal const int IFLA_IFNAME = 3;
    internal const int IFLA_MTU = 4;
    internal const int IFLA_TXQLEN = 13;
    internal const int IFLA_LINKINFO = 18;
    internal const int IFLA_INFO_KIND = 1;
    internal const int IFLA_GSO_MAX_SIZE = 41;

    [StructLayout(LayoutKind.Sequential)]
    internal struct nlmsghdr
    {
        public uint nlmsg_len;
        public ushort nlmsg_type;
        public ushort nlmsg_flags;
        public uint nlmsg_seq;
        public uint nlmsg_pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct nlmsgerr
    {
        public int error;
        public nlmsghdr msg;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct rtattr
    {
        public ushort rta_len;
        public ushort rta_type;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct rtmsg
    {
        public byte rtm_family;
        public byte rtm_dst_len;
        public byte rtm_src_len;
        public byte rtm_tos;
        public byte rtm_table;
        public byte rtm_protocol;
        public byte rtm_scope;
        public byte rtm_type;
        public uint rtm_flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct ifaddrmsg
    {
        public byte ifa_family;
        public byte ifa_prefixlen;
        public byte ifa_flags;
        public byte ifa_scope;
        public uint ifa_index;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct ifinfomsg
    {
        public byte ifi_family;
        public byte __ifi_pad;
        public ushort ifi_type;
        public int ifi_index;
        public uint ifi_flags;
        public uint ifi_change;
    }

    /// <summary>A close-on-exec NETLINK_ROUTE socket, bound (the kernel picks the port id), with
    /// extended acks on so that refusals come with the kernel's own words.</summary>
    internal static int NetlinkOpen()
    {
        int fd = CheckIo(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), "socket(AF_NETLINK, NETLINK_ROUTE)");
        try
        {
            int on = 1;
            // Older kernels lack extended acks: the errno alone still says what failed.
            setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(int));
            var address = new sockaddr_nl { nl_family = AF_NETLINK };
            CheckIo(bind(fd, (sockaddr*)&address, (socklen_t)sizeof(sockaddr_nl)), "bind(AF_NETLINK)");
            return fd;
        }
        catch
        {
            close(fd);
            throw;
        }
    }

    /// <summary>Sends one request (to the kernel: port id 0).</summary>
    internal static void NetlinkSend(int fd, ReadOnlySpan<byte> message)
    {
        var kernel = new sockaddr_nl { nl_family = AF_NETLINK };
        fixed (byte* p = message)
        {
            while (true)
            {
                long n = sendto(fd, p, (size_t)(ulong)message.Length, 0, (sockaddr*)&kernel, (socklen_t)sizeof(sockaddr_nl));
                if (n == message.Length) return;
                if (n >= 0) throw new IOException($"netlink: sent {n} of {message.Length} bytes");
                int errno = LastErrno();
                if (errno != EINTR) throw ErrorFor(errno, "send to rtnetlink");
            }
        }
    }

    /// <summary>Receives one datagram of replies, waiting at most <paramref name="timeoutMs"/>; a
    /// kernel that does not answer is an error, not a hang.</summary>
    internal static int NetlinkReceive(int fd, Span<byte> buffer, int timeoutMs)
    {
        if (WaitReadable([fd], timeoutMs) < 0) throw new IOException($"rtnetlink did not answer within {timeoutMs} ms");
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = recv(fd, p, (size_t)(ulong)buffer.Length, MSG_DONTWAIT);
                if (n >= 0) return (int)n;
                int errno = LastErrno();
                if (errno == EAGAIN) return 0;
                if (errno != EINTR) throw ErrorFor(errno, "receive from rtnetlink");
            }
        }
    }
}
