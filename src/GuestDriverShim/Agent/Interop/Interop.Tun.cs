using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

#pragma warning disable CS8981 // struct names are the kernel headers' own (ifreq), so the proof can name them

namespace Ivshmem;

/// <summary>
/// The TUN device of <c>ivshmem-agent net</c> (linux/if_tun.h, linux/if.h, linux/virtio_net.h): open
/// /dev/net/tun, TUNSETIFF, TUNSETOFFLOAD, and one packet per read(2)/write(2). Names are the headers'
/// own; <c>NetKernelHeaderTests</c> proves every value and layout here against them with a C compiler.
/// What the flags and offloads do, and why these: docs/guest.md, "How net works".
/// </summary>
internal static unsafe partial class Interop
{
    internal const int IFNAMSIZ = 16;

    // TUNSETIFF flags (ifr_flags).
    internal const int IFF_TUN = 0x0001;
    internal const int IFF_NO_PI = 0x1000;
    internal const int IFF_VNET_HDR = 0x4000;
    internal const int IFF_TUN_EXCL = 0x8000;

    // Interface flags (SIOCGIFFLAGS, ifinfomsg.ifi_flags).
    internal const int IFF_UP = 0x1;
    internal const int IFF_LOOPBACK = 0x8;

    // ioctl numbers: _IOW('T', n, int); TUNSETIFF's size field says int although it takes a struct ifreq.
    internal const int TUNSETIFF = 0x400454CA;
    internal const int TUNSETOFFLOAD = 0x400454D0;

    // TUNSETOFFLOAD bits: what this side can take on reads. Every other bit needs TUN_F_CSUM.
    internal const int TUN_F_CSUM = 0x01;
    internal const int TUN_F_TSO4 = 0x02;
    internal const int TUN_F_TSO6 = 0x04;

    // virtio_net_hdr.flags and gso_type.
    internal const int VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
    internal const int VIRTIO_NET_HDR_GSO_NONE = 0;
    internal const int VIRTIO_NET_HDR_GSO_TCPV4 = 1;
    internal const int VIRTIO_NET_HDR_GSO_TCPV6 = 4;

    /// <summary>sizeof(struct virtio_net_hdr): what IFF_VNET_HDR puts before every packet, both ways.</summary>
    internal const int VirtioNetHdrSize = 10;

    /// <summary>struct ifreq (40 bytes on x86-64): the name, and one member of the union at 16.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    internal struct ifreq
    {
        [FieldOffset(0)] public fixed byte ifr_name[IFNAMSIZ];
        [FieldOffset(16)] public short ifr_flags;
    }

    /// <summary>struct virtio_net_hdr (little-endian on x86): the offload metadata a packet carries
    /// through the TUN device, read and written unchanged.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct virtio_net_hdr
    {
        public byte flags;
        public byte gso_type;
        public ushort hdr_len;
        public ushort gso_size;
        public ushort csum_start;
        public ushort csum_offset;
    }

    /// <summary>
    /// Opens /dev/net/tun (non-blocking, close-on-exec) and attaches a TUN device named
    /// <paramref name="name"/> with <paramref name="flags"/>; returns the fd. The device lives as long
    /// as the fd: closing it removes the device and every route through it.
    /// </summary>
    internal static int TunOpen(string name, int flags)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(name);
        if (bytes.Length == 0 || bytes.Length >= IFNAMSIZ)
            throw new ArgumentException($"'{name}' is not a device name: 1 to {IFNAMSIZ - 1} characters", nameof(name));
        int fd;
        fixed (byte* path = "/dev/net/tun\0"u8)
            fd = CheckIo(open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0), "open /dev/net/tun");
        try
        {
            var request = new ifreq { ifr_flags = (short)flags };
            bytes.CopyTo(new Span<byte>(request.ifr_name, IFNAMSIZ));
            TunIoctl(fd, TUNSETIFF, &request, $"TUNSETIFF {name}");
            return fd;
        }
        catch
        {
            close(fd);
            throw;
        }
    }

    /// <summary>TUNSETOFFLOAD: which offloaded packets (partial checksums, TSO super-packets) this side
    /// accepts on reads. Writes take them whatever this says.</summary>
    internal static void TunSetOffload(int fd, int offloads)
    {
        while (ioctl(fd, TUNSETOFFLOAD, offloads) == -1)
        {
            int errno = LastErrno();
            if (errno != EINTR) throw ErrorFor(errno, $"TUNSETOFFLOAD 0x{offloads:X}");
        }
    }

    /// <summary>Reads one packet (virtio header first) into <paramref name="buffer"/>; returns its
    /// length, or 0 when none is queued (EAGAIN). A buffer shorter than the packet truncates it, so
    /// callers pass one of the largest packet's size.</summary>
    internal static int TunRead(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = read(fd, p, (size_t)(ulong)buffer.Length);
                if (n >= 0) return (int)n;
                int errno = LastErrno();
                if (errno == EAGAIN) return 0;
                if (errno != EINTR) throw ErrorFor(errno, "read from the TUN device");
            }
        }
    }

    /// <summary>Writes one packet (virtio header first); returns 0, or the errno the kernel refused it
    /// with (EINVAL: a malformed header or packet; EIO: the device is down).</summary>
    internal static int TunWrite(int fd, ReadOnlySpan<byte> packet)
    {
        fixed (byte* p = packet)
        {
            while (true)
            {
                long n = write(fd, p, (size_t)(ulong)packet.Length);
                if (n >= 0) return 0;
                int errno = LastErrno();
                if (errno != EINTR) return errno;
            }
        }
    }

    private static void TunIoctl(int fd, int request, void* arg, string what)
    {
        while (ioctl(fd, request, arg) == -1)
        {
            int errno = LastErrno();
            if (errno != EINTR) throw ErrorFor(errno, what);
        }
    }
}
