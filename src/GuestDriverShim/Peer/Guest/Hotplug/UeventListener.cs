namespace Ivshmem.Peer.Guest;

/// <summary>
/// Receives the kernel's uevents (a NETLINK_KOBJECT_UEVENT socket, group 1): how a hot-added or
/// removed ivshmem device is seen at once, without a sysfs poll (docs/guest.md, "When the device comes
/// and goes"). Needs no udev. Only datagrams from the kernel itself (netlink port 0) are taken;
/// anything unparsable is skipped and counted. Receiving allocates per event, which is fine: events
/// are rare.
/// </summary>
public sealed class UeventListener : IDisposable
{
    private const int ReceiveBuffer = 1 << 20;
    private readonly byte[] _buffer = new byte[Uevent.MaxLength + 1];
    private int _fd;

    private UeventListener(int fd) => _fd = fd;

    /// <summary>The socket, for callers that poll it beside other fds.</summary>
    public int Fd => _fd;

    /// <summary>Datagrams skipped: not from the kernel, or not a uevent.</summary>
    public long Skipped { get; private set; }

    /// <summary>Set when the kernel dropped events (the socket's buffer overflowed): whoever relies on
    /// them must look at sysfs again. Reading it clears it.</summary>
    public bool Overflowed
    {
        get
        {
            bool value = _overflowed;
            _overflowed = false;
            return value;
        }
    }

    private bool _overflowed;

    /// <summary>The last reason a datagram was skipped, for a diagnostic.</summary>
    public string? LastSkipReason { get; private set; }

    /// <summary>Opens the socket; throws <see cref="IOException"/> when the kernel refuses it.</summary>
    public static UeventListener Open() => new(Interop.UeventOpen(ReceiveBuffer));

    /// <summary>The next event, waiting up to <paramref name="timeoutMs"/> (0: only what is queued;
    /// negative: no limit); null when none came.</summary>
    public Uevent? Receive(int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            int n = Interop.UeventReceive(_fd, _buffer, out uint sender);
            if (n == -Interop.ENOBUFS)
            {
                _overflowed = true;
                continue;
            }
            if (n > 0)
            {
                if (sender != 0) Skip($"a datagram from netlink port {sender}, not the kernel");
                else if (n > Uevent.MaxLength) Skip($"a datagram of {n} bytes, longer than a uevent ({Uevent.MaxLength})");
                else if (Uevent.TryParse(_buffer.AsSpan(0, n), out string? error) is { } uevent) return uevent;
                else Skip(error!);
                continue;
            }
            long left = deadline - Environment.TickCount64;
            if (left <= 0) return null;
            if (Interop.WaitReadable([_fd], (int)Math.Min(left, int.MaxValue)) < 0) return null;
        }
    }

    private void Skip(string reason)
    {
        Skipped++;
        LastSkipReason = reason;
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        Interop.Close(_fd);
        _fd = -1;
    }
}
