using System.Globalization;
using Ivshmem.Peer.Guest;

namespace Ivshmem.Peer.Tests.Hotplug;

/// <summary>
/// Waiting for a device against a fake sysfs tree (without uevents: the sysfs scan is the same path
/// the uevents feed). The kernel announces a hot-added device before it assigns its BARs, so a device
/// whose BAR2 still reads 0 in <c>resource</c> must not be returned until it has an address.
/// </summary>
public sealed class DeviceArrivalTests : IDisposable
{
    private const string Bdf = "0000:01:00.0";
    private readonly FakeSysfs _sys = new();

    public void Dispose() => _sys.Dispose();

    [Fact]
    public void ADevicePresentAndAssignedIsReturnedAtOnce()
    {
        _sys.AddDoorbell(Bdf, 64 << 20);
        using DeviceArrival arrival = DeviceArrival.Start(_sys.Root, useUevents: false);
        IvshmemDeviceInfo? device = arrival.Wait(TimeSpan.Zero);
        Assert.Equal(Bdf, device?.Address.ToString());
        Assert.True(DeviceArrival.IsReady(device!));
    }

    [Fact]
    public void NoDeviceGivesNullAfterTheWait()
    {
        using DeviceArrival arrival = DeviceArrival.Start(_sys.Root, useUevents: false);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(arrival.Wait(TimeSpan.FromMilliseconds(200)));
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(150), $"returned after {watch.Elapsed.TotalMilliseconds:0} ms, before the time it was given");
    }

    [Fact]
    public async Task ADeviceWhoseBar2HasNoAddressYetIsReturnedOnlyOnceItHasOne()
    {
        _sys.AddDoorbell(Bdf, 64 << 20, bar2Start: 0);
        using DeviceArrival arrival = DeviceArrival.Start(_sys.Root, useUevents: false);
        Assert.Null(arrival.Wait(TimeSpan.FromMilliseconds(100)));

        // The kernel assigns BAR2 a moment later; the wait looks again every 10 ms.
        Task assign = Task.Run(async () =>
        {
            await Task.Delay(150);
            AssignBar2(0xec000000, 64 << 20);
        });
        IvshmemDeviceInfo? device = arrival.Wait(TimeSpan.FromSeconds(3));
        await assign;
        Assert.NotNull(device);
        Assert.Equal(0xec000000UL, device.Bar(2).Start);
    }

    [Fact]
    public void OnlyTheAddressAskedForIsTaken()
    {
        _sys.AddDoorbell("0000:00:04.0", 16 << 20);
        using DeviceArrival arrival = DeviceArrival.Start(_sys.Root, address: Bdf, useUevents: false);
        Assert.Null(arrival.Wait(TimeSpan.FromMilliseconds(50)));
        _sys.AddDoorbell(Bdf, 16 << 20);
        // Without uevents the next scan comes within a second.
        Assert.Equal(Bdf, arrival.Wait(TimeSpan.FromSeconds(3))?.Address.ToString());
    }

    [Fact]
    public void TheDeviceJustReleasedIsNotTakenForANewOneUntilItsDirectoryIsGone()
    {
        _sys.AddDoorbell(Bdf, 16 << 20);
        using DeviceArrival arrival = DeviceArrival.Start(_sys.Root, useUevents: false, departing: PciAddress.Parse(Bdf));
        Assert.Null(arrival.Wait(TimeSpan.FromMilliseconds(100)));

        // The kernel removes it; a new device is added at the same address (the same root port).
        Directory.Delete(_sys.DevicePath(Bdf), recursive: true);
        Assert.Null(arrival.Wait(TimeSpan.FromMilliseconds(1200)));
        _sys.AddDoorbell(Bdf, 16 << 20);
        Assert.Equal(Bdf, arrival.Wait(TimeSpan.FromSeconds(3))?.Address.ToString());
    }

    [Fact]
    public void ADeviceThatCouldNotBeUsedIsNotReturnedAgain()
    {
        _sys.AddDoorbell(Bdf, 16 << 20);
        using DeviceArrival arrival = DeviceArrival.Start(_sys.Root, useUevents: false);
        IvshmemDeviceInfo device = arrival.Wait(TimeSpan.Zero)!;
        arrival.Ignore(device.Address);
        // The next scans (every second without uevents) find it again and leave it alone.
        Assert.Null(arrival.Wait(TimeSpan.FromMilliseconds(1500)));
    }

    [Fact]
    public void ABarWithAnAddressIsAssignedAndOneWithoutIsNot()
    {
        Assert.True(new PciBar(2, 0xec000000, 0xefffffff, FakeSysfs.Mem64Prefetch).IsAssigned);
        // What resource shows for a BAR that found no room: start 0, the size in the end column.
        var unassigned = new PciBar(2, 0, 0x3ffffff, FakeSysfs.Mem64Prefetch);
        Assert.True(unassigned.IsPresent);
        Assert.False(unassigned.IsAssigned);
        Assert.False(new PciBar(3, 0, 0, 0).IsAssigned);
    }

    private void AssignBar2(ulong start, long size)
    {
        string resource = Path.Combine(_sys.DevicePath(Bdf), "resource");
        string[] lines = File.ReadAllLines(resource);
        string[] columns = lines[2].Split(' ');
        lines[2] = string.Create(CultureInfo.InvariantCulture, $"0x{start:x16} 0x{start + (ulong)size - 1:x16} {columns[2]}");
        File.WriteAllLines(resource + ".new", lines);
        File.Move(resource + ".new", resource, overwrite: true);
    }
}
