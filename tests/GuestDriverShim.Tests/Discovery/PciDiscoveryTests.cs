using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests;

public sealed class PciDiscoveryTests : IDisposable
{
    private readonly FakeSysfs _sys = new();

    public void Dispose() => _sys.Dispose();

    [Fact]
    public void FindsIvshmemDevicesAndIgnoresOtherPciDevices()
    {
        _sys.AddDevice("0000:00:02.0", 0x1af4, 0x1000, [new FakeSysfs.Bar(0xfe000000, 4096, FakeSysfs.Mem32)], FakeSysfs.ConfigSpace(0x1af4, 0x1000, null, true), "virtio-pci", 2);
        _sys.AddPlain("0000:00:04.0", 1 << 20);
        _sys.AddDoorbell("0000:00:03.0", 16 << 20, vectors: 2, driver: "vfio-pci", iommuGroup: 3);

        var found = PciDiscovery.FindIvshmemDevices(_sys.Root);

        Assert.Equal(["0000:00:03.0", "0000:00:04.0"], found.Select(d => d.Address.ToString()));
        IvshmemDeviceInfo doorbell = found[0];
        Assert.Equal(IvshmemDeviceKind.Doorbell, doorbell.Kind);
        Assert.Equal(16L << 20, doorbell.SharedMemorySize);
        Assert.Equal(256, doorbell.Bar(0).Size);
        Assert.Equal(4096, doorbell.Bar(1).Size);
        Assert.True(doorbell.Bar(2).Is64Bit && doorbell.Bar(2).IsPrefetchable && doorbell.Bar(2).IsMemory);
        Assert.Equal(0xfd000000UL, doorbell.Bar(2).Start);
        Assert.Equal("vfio-pci", doorbell.Driver);
        Assert.True(doorbell.IsBoundToVfio);
        Assert.Equal(3, doorbell.IommuGroup);
        Assert.Equal(2, doorbell.MsixVectors);
        Assert.Equal(1, doorbell.Revision);

        IvshmemDeviceInfo plain = found[1];
        Assert.Equal(IvshmemDeviceKind.Plain, plain.Kind);
        Assert.False(plain.Bar(1).IsPresent);
        Assert.Null(plain.Driver);
        Assert.Null(plain.IommuGroup);
        Assert.Null(plain.MsixVectors);
    }

    [Fact]
    public void ADoorbellIsRecognisedByBar1WhenOnlyTheFirst64BytesOfConfigSpaceAreReadable()
    {
        // An unprivileged reader gets 64 bytes of config space: the capability list is out of reach.
        _sys.AddDoorbell("0000:00:05.0", 1 << 20, vectors: 4, fullConfig: false);

        IvshmemDeviceInfo device = Assert.Single(PciDiscovery.FindIvshmemDevices(_sys.Root));

        Assert.Null(device.HasMsixCapability);
        Assert.Null(device.MsixVectors);
        Assert.Equal(IvshmemDeviceKind.Doorbell, device.Kind);
    }

    [Fact]
    public void SelectReturnsTheOnlyDeviceWithoutAnAddress()
    {
        _sys.AddDoorbell("0000:00:03.0", 1 << 20);
        var devices = PciDiscovery.FindIvshmemDevices(_sys.Root);
        Assert.Equal("0000:00:03.0", PciDiscovery.Select(devices, null).Address.ToString());
    }

    [Fact]
    public void SelectAcceptsTheShortAddressForm()
    {
        _sys.AddDoorbell("0000:00:03.0", 1 << 20);
        _sys.AddPlain("0000:00:04.0", 1 << 20);
        var devices = PciDiscovery.FindIvshmemDevices(_sys.Root);
        Assert.Equal("0000:00:04.0", PciDiscovery.Select(devices, "00:04.0").Address.ToString());
    }

    [Fact]
    public void SelectWithTwoDevicesAndNoAddressNamesBoth()
    {
        _sys.AddDoorbell("0000:00:03.0", 1 << 20);
        _sys.AddPlain("0000:00:04.0", 2 << 20);
        var devices = PciDiscovery.FindIvshmemDevices(_sys.Root);

        var e = Assert.Throws<IvshmemDeviceException>(() => PciDiscovery.Select(devices, null));

        Assert.Contains("--device", e.Message);
        Assert.Contains("0000:00:03.0 (doorbell, 1.0 MiB)", e.Message);
        Assert.Contains("0000:00:04.0 (plain, 2.0 MiB)", e.Message);
    }

    [Fact]
    public void SelectWithoutDevicesSaysHowToGiveTheVmOne()
    {
        var e = Assert.Throws<IvshmemDeviceException>(() => PciDiscovery.Select(PciDiscovery.FindIvshmemDevices(_sys.Root), null));
        Assert.Contains("ivshmemd qemu-args", e.Message);
    }

    [Fact]
    public void SelectOfAnAbsentAddressListsThePresentOnes()
    {
        _sys.AddDoorbell("0000:00:03.0", 1 << 20);
        var e = Assert.Throws<IvshmemDeviceException>(() => PciDiscovery.Select(PciDiscovery.FindIvshmemDevices(_sys.Root), "0000:00:09.0"));
        Assert.Contains("no ivshmem device at 0000:00:09.0", e.Message);
        Assert.Contains("0000:00:03.0", e.Message);
    }

    [Fact]
    public void AMissingSysfsIsReportedAsSuch()
    {
        using var empty = new TempDirectory();
        var e = Assert.Throws<DirectoryNotFoundException>(() => PciDiscovery.FindIvshmemDevices(empty.Path));
        Assert.Contains("is sysfs mounted", e.Message);
    }

    [Fact]
    public void ParseResourcesReadsTheKernelsFormatAndLeavesUnusedBarsEmpty()
    {
        const string text = """
            0x00000000febfd000 0x00000000febfd0ff 0x0000000000040200
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            0x0000000380000000 0x00000003ffffffff 0x000000000014220c
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            """;

        var bars = PciDiscovery.ParseResources(text);

        Assert.Equal(6, bars.Count);
        Assert.Equal(256, bars[0].Size);
        Assert.False(bars[1].IsPresent);
        Assert.Equal(0, bars[1].Size);
        Assert.Equal(2L << 30, bars[2].Size);
        Assert.Equal("64-bit prefetchable memory at 0x380000000 (2.0 GiB)", bars[2].Describe());
    }

    [Fact]
    public void ParseResourcesRejectsGarbage()
    {
        Assert.Throws<FormatException>(() => PciDiscovery.ParseResources("0x1000 nonsense\n"));
    }
}
