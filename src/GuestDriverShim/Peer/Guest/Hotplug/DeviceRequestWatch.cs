using System.Diagnostics;

namespace Ivshmem.Peer.Guest;

/// <summary>
/// Watches for the device being taken away, on a thread of its own, and says so through
/// <see cref="Token"/> (docs/guest.md, "When the device comes and goes"):
/// <list type="bullet">
/// <item>through VFIO, the device request interrupt: vfio-pci signals its eventfd when the kernel
/// wants the device back (a hot-unplug), and the unplug then waits until this process has unmapped
/// every BAR and closed device, group and container;</item>
/// <item>without VFIO, a <c>remove@</c> uevent for the device's PCI address (nothing holds the
/// device then, so the kernel removes it at once and says so afterwards);</item>
/// <item>in either case, the device's sysfs directory gone (looked at every second).</item>
/// </list>
/// When one fires, <see cref="Reason"/> says why, <see cref="RequestedAt"/> when, and
/// <paramref name="wake"/> runs so that threads asleep on the device's interrupts look.
/// </summary>
public sealed class DeviceRequestWatch : IDisposable
{
    private const int DirectoryCheckMs = 1000;

    private readonly IvshmemDeviceInfo _device;
    private readonly int _requestFd;
    private readonly UeventListener? _uevents;
    private readonly Action _wake;
    private readonly int _stopFd = Interop.EventFdCreate();
    private readonly CancellationTokenSource _cts = new();
    private readonly Thread _thread;
    private volatile string? _reason;
    private long _requestedAt;
    private bool _disposed;

    private DeviceRequestWatch(IvshmemDeviceInfo device, int requestFd, UeventListener? uevents, Action wake)
    {
        _device = device;
        _requestFd = requestFd;
        _uevents = uevents;
        _wake = wake;
        _thread = new Thread(Run) { IsBackground = true, Name = $"unplug watch {device.Address}" };
    }

    /// <summary>Cancelled once the device is going away.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>Why, once it is going away ("the device is being unplugged: ..."); null before.</summary>
    public string? Reason => _reason;

    /// <summary>The <see cref="Stopwatch"/> timestamp of the request, or 0 before one.</summary>
    public long RequestedAt => Volatile.Read(ref _requestedAt);

    /// <summary>
    /// Starts watching <paramref name="device"/>. <paramref name="requestFd"/>: the eventfd registered
    /// as the VFIO device request interrupt, or -1 (the watch owns it either way); without one, a
    /// uevent socket is opened (if the kernel refuses it, only the directory check is left, which
    /// <paramref name="log"/> is told).
    /// </summary>
    public static DeviceRequestWatch Start(IvshmemDeviceInfo device, int requestFd, Action wake, Action<string>? log = null)
    {
        UeventListener? uevents = null;
        if (requestFd < 0)
        {
            try { uevents = UeventListener.Open(); }
            catch (IOException e) { log?.Invoke($"no uevents ({e.Message}): an unplug of {device.Address} is noticed only when its sysfs directory is gone (within a second)"); }
        }
        var watch = new DeviceRequestWatch(device, requestFd, uevents, wake);
        watch._thread.Start();
        return watch;
    }

    /// <summary>Says the device is going away (also for tests and for callers that learn it elsewhere).</summary>
    public void Trigger(string reason)
    {
        if (_reason is not null) return;
        Volatile.Write(ref _requestedAt, Stopwatch.GetTimestamp());
        _reason = reason;
        try { _cts.Cancel(); }
        catch (AggregateException) { /* a registration failed; the reason is set, that is what counts */ }
        _wake();
    }

    private void Run()
    {
        Span<int> fds = stackalloc int[2];
        fds[0] = _stopFd;
        fds[1] = _requestFd >= 0 ? _requestFd : _uevents?.Fd ?? -1;
        int count = fds[1] >= 0 ? 2 : 1;
        while (true)
        {
            int ready = Interop.WaitReadable(fds[..count], DirectoryCheckMs);
            if (ready == 0) return;
            if (ready == 1 && _requestFd >= 0)
            {
                ulong requests = Interop.EventFdDrain(_requestFd);
                if (requests > 0)
                    Trigger($"the device is being unplugged: the kernel asked for {_device.Address} back (VFIO device request)");
            }
            else if (ready == 1)
            {
                while (_uevents!.Receive(0) is { } uevent)
                    if (uevent.Action == "remove" && IsOurs(uevent))
                        Trigger($"the device is being unplugged: the kernel removed {_device.Address} (uevent {uevent})");
            }
            if (_reason is null && !Directory.Exists(_device.SysfsPath))
                Trigger($"the device is being unplugged: {_device.SysfsPath} is gone");
        }
    }

    private bool IsOurs(Uevent uevent) =>
        uevent.PciSlotName == _device.Address.ToString() || uevent.DevPath.EndsWith("/" + _device.Address, StringComparison.Ordinal);

    /// <summary>Stops the thread and closes the eventfds and the socket.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Interop.EventFdSignal(_stopFd);
        _thread.Join();
        Interop.Close(_stopFd);
        if (_requestFd >= 0) Interop.Close(_requestFd);
        _uevents?.Dispose();
        _cts.Dispose();
    }
}
