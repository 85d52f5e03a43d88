using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests;

public sealed class DriverBinderTests : IDisposable
{
    private readonly FakeSysfs _sys = new();

    public void Dispose() => _sys.Dispose();

    private IvshmemDeviceInfo Device(string bdf) => PciDiscovery.Select(PciDiscovery.FindIvshmemDevices(_sys.Root), bdf);

    [Fact]
    public void ADeviceBoundToVfioIsLeftAlone()
    {
        _sys.AddDoorbell("0000:00:03.0", 1 << 20, driver: "vfio-pci", iommuGroup: 3);
        IvshmemDeviceInfo device = Device("0000:00:03.0");

        Assert.Same(device, DriverBinder.BindToVfio(device, _sys.Root));
        Assert.Equal("(null)\n", File.ReadAllText(Path.Combine(device.SysfsPath, "driver_override")));
    }

    [Fact]
    public void WithoutAnIommuGroupItSaysHowToGetOne()
    {
        _sys.AddDoorbell("0000:00:03.0", 1 << 20);
        var e = Assert.Throws<IvshmemDeviceException>(() => DriverBinder.BindToVfio(Device("0000:00:03.0"), _sys.Root));
        Assert.Contains("intel-iommu", e.Message);
        Assert.Contains("intel_iommu=on", e.Message);
    }

    [Fact]
    public void BindingSetsTheOverrideUnbindsTheOldDriverAndProbes()
    {
        _sys.AddDriver("vfio-pci");
        _sys.AddDoorbell("0000:00:03.0", 1 << 20, driver: "uio_pci_generic", iommuGroup: 3);
        IvshmemDeviceInfo device = Device("0000:00:03.0");
        var log = new List<string>();

        // Nothing plays the kernel here, so the device stays with its old driver: the binder must
        // notice and say so, after doing the three writes in order.
        var e = Assert.Throws<IvshmemDeviceException>(() => DriverBinder.BindToVfio(device, _sys.Root, log.Add));

        Assert.Equal("vfio-pci", File.ReadAllText(Path.Combine(device.SysfsPath, "driver_override")));
        Assert.Equal("0000:00:03.0", File.ReadAllText(_sys.Combine("bus", "pci", "drivers", "uio_pci_generic", "unbind")));
        Assert.Equal("0000:00:03.0", File.ReadAllText(_sys.Combine("bus", "pci", "drivers_probe")));
        Assert.Equal(["unbinding 0000:00:03.0 from uio_pci_generic", "binding 0000:00:03.0 to vfio-pci"], log);
        Assert.Contains("vfio-pci did not take 0000:00:03.0 (its driver is now uio_pci_generic)", e.Message);
    }

    [Fact]
    public void ADeviceWithoutADriverIsProbedWithoutAnUnbind()
    {
        _sys.AddDriver("vfio-pci");
        _sys.AddDoorbell("0000:00:03.0", 1 << 20, iommuGroup: 3);
        var log = new List<string>();

        Assert.Throws<IvshmemDeviceException>(() => DriverBinder.BindToVfio(Device("0000:00:03.0"), _sys.Root, log.Add));

        Assert.Equal(["binding 0000:00:03.0 to vfio-pci"], log);
        Assert.Equal("0000:00:03.0", File.ReadAllText(_sys.Combine("bus", "pci", "drivers_probe")));
    }
}
