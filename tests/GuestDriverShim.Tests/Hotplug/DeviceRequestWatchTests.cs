using Ivshmem.Peer.Guest;
using static Tmds.Linux.LibC;

namespace Ivshmem.Peer.Tests.Hotplug;

/// <summary>
/// The watch over a device: a real eventfd standing in for the one vfio-pci signals on a device
/// request (the kernel cannot be made to send one without a hot-unplug: scripts/hotplug-e2e does that
/// with a real QEMU), and a fake sysfs directory that disappears.
/// </summary>
public sealed class DeviceRequestWatchTests : IDisposable
{
    private const string Bdf = "0000:01:00.0";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly FakeSysfs _sys = new();

    public void Dispose() => _sys.Dispose();

    /// <summary>An eventfd, as vfio-pci's request interrupt would be (the watch takes it over).</summary>
    private static int NewEventFd() => eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    /// <summary>What vfio-pci does on a device request: add 1 to the eventfd's counter.</summary>
    private static unsafe void Signal(int fd)
    {
        ulong one = 1;
        Assert.Equal(8, (long)write(fd, &one, 8));
    }

    [Fact]
    public void TheRequestEventfdFiringCancelsTheTokenWithTheReasonAndWakes()
    {
        IvshmemDeviceInfo device = PciDiscovery.Describe(_sys.AddDoorbell(Bdf, 16 << 20), PciAddress.Parse(Bdf));
        int request = NewEventFd();
        using var woken = new ManualResetEventSlim();
        using DeviceRequestWatch watch = DeviceRequestWatch.Start(device, request, woken.Set);
        Assert.False(watch.Token.IsCancellationRequested);
        Assert.Null(watch.Reason);
        Assert.Equal(0, watch.RequestedAt);

        Signal(request);

        Assert.True(woken.Wait(Limit), "the watch did not wake anybody after the request");
        Assert.True(watch.Token.IsCancellationRequested);
        Assert.StartsWith("the device is being unplugged", watch.Reason);
        Assert.Contains(Bdf, watch.Reason);
        Assert.NotEqual(0, watch.RequestedAt);
    }

    [Fact]
    public void TheSysfsDirectoryGoneCountsAsTheDeviceGoing()
    {
        string path = _sys.AddDoorbell(Bdf, 16 << 20);
        IvshmemDeviceInfo device = PciDiscovery.Describe(path, PciAddress.Parse(Bdf));
        using var woken = new ManualResetEventSlim();
        using DeviceRequestWatch watch = DeviceRequestWatch.Start(device, NewEventFd(), woken.Set);

        Directory.Delete(path, recursive: true);

        Assert.True(woken.Wait(Limit), "the watch did not notice the directory going within 10 s");
        Assert.Contains("is gone", watch.Reason);
    }

    [Fact]
    public void NothingHappensWhileTheDeviceStaysAndDisposeStopsTheWatch()
    {
        IvshmemDeviceInfo device = PciDiscovery.Describe(_sys.AddDoorbell(Bdf, 16 << 20), PciAddress.Parse(Bdf));
        var woken = 0;
        DeviceRequestWatch watch = DeviceRequestWatch.Start(device, NewEventFd(), () => Interlocked.Increment(ref woken));
        Thread.Sleep(1200);
        Assert.False(watch.Token.IsCancellationRequested);
        watch.Dispose();
        watch.Dispose();
        Assert.Equal(0, woken);
    }

    [Fact]
    public void ASecondTriggerKeepsTheFirstReasonAndTime()
    {
        IvshmemDeviceInfo device = PciDiscovery.Describe(_sys.AddDoorbell(Bdf, 16 << 20), PciAddress.Parse(Bdf));
        var woken = 0;
        using DeviceRequestWatch watch = DeviceRequestWatch.Start(device, NewEventFd(), () => Interlocked.Increment(ref woken));
        watch.Trigger("the device is being unplugged: first");
        long at = watch.RequestedAt;
        watch.Trigger("the device is being unplugged: second");
        Assert.Equal("the device is being unplugged: first", watch.Reason);
        Assert.Equal(at, watch.RequestedAt);
        Assert.Equal(1, woken);
    }
}
