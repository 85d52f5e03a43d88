using static Ivshmem.Interop;

namespace Ivshmem.Agent.Net;

/// <summary>
/// The TUN device of <c>net</c>: layer 3, no packet-information prefix, every packet preceded by a
/// virtio_net_hdr (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR), non-blocking, not persistent. With offloads
/// the kernel hands over TSO super-packets of up to 64 KiB with partial checksums instead of MTU-sized
/// packets, and a packet read here is written unchanged into the peer's device (docs/guest.md,
/// "How net works"). Closing it removes the device and every route through it, so a
/// crashed agent leaves nothing behind.
/// </summary>
internal sealed class TunDevice : IDisposable
{
    /// <summary>The largest packet a read returns: an IP packet of 64 KiB and the virtio header.</summary>
    public const int MaxFrame = VirtioNetHdrSize + 65535;

    private TunDevice(int fd, string name, bool offload)
    {
        Fd = fd;
        Name = name;
        Offload = offload;
    }

    public int Fd { get; }
    public string Name { get; }
    public bool Offload { get; }

    /// <summary>Creates device <paramref name="name"/> (EBUSY if one of that name exists).</summary>
    public static TunDevice Create(string name, bool offload)
    {
        int fd = TunOpen(name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL);
        try
        {
            // Checksum and TSO for both families: what every kernel since 2.6 accepts. UDP segmentation
            // (USO) is left out: a 6.1 peer refuses UDP GSO writes.
            TunSetOffload(fd, offload ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 : 0);
            return new TunDevice(fd, name, offload);
        }
        catch
        {
            Close(fd);
            throw;
        }
    }

    /// <summary>One packet with its virtio header, or 0 when none is queued.</summary>
    public int Read(Span<byte> frame) => TunRead(Fd, frame);

    /// <summary>Hands one packet with its virtio header to the kernel; 0 or the errno it refused it with.</summary>
    public int Write(ReadOnlySpan<byte> frame) => TunWrite(Fd, frame);

    public void Dispose() => Close(Fd);
}
