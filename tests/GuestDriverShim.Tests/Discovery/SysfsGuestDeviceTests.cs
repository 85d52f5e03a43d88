using System.Buffers.Binary;
using Ivshmem.Ring;

using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests;

/// <summary>
/// GuestDevice through sysfs, against a fake tree whose resource0 and resource2 are plain files: the
/// library maps them with the same mmap calls as on a real device, so the register offsets, the page
/// offset of BAR0, the Doorbell encoding and the region attach are all real.
/// </summary>
public sealed class SysfsGuestDeviceTests : IDisposable
{
    private const string Bdf = "0000:00:03.0";
    private const int RegionSize = 1 << 20;
    private const ulong Bar0Start = 0xfebfd100;  // not page-aligned: BAR0 starts 0x100 into its page
    private readonly FakeSysfs _sys = new();
    private readonly TempDirectory _dev = new();

    public SysfsGuestDeviceTests()
    {
        string path = _sys.AddDoorbell(Bdf, RegionSize, vectors: 2, bar0Start: Bar0Start);
        byte[] bar0Page = new byte[4096];
        BinaryPrimitives.WriteUInt32LittleEndian(bar0Page.AsSpan(0x100 + IvshmemRegisters.IvPositionOffset), 7);
        File.WriteAllBytes(Path.Combine(path, "resource0"), bar0Page);
        FormatRegion(Path.Combine(path, "resource2"), RegionSize, 0);
    }

    public void Dispose()
    {
        _sys.Dispose();
        _dev.Dispose();
    }

    private static void FormatRegion(string file, long size, long offset)
    {
        using (var stream = new FileStream(file, FileMode.OpenOrCreate)) stream.SetLength(Math.Max(stream.Length, offset + size));
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
        using var mapping = MappedMemory.Map((int)handle.DangerousGetHandle(), size, offset);
        Region region = Region.Format(mapping.Memory, 2);
        region.Peers.Join(0, 7, PeerKind.VirtualMachine, "vm-a");
        region.Peers.Join(1, 9, PeerKind.VirtualMachine, "vm-b");
    }

    private GuestDevice Open(SharedMemoryMapping mapping = SharedMemoryMapping.Device, List<string>? log = null) =>
        GuestDevice.Open(new GuestDeviceOptions
        {
            SysfsRoot = _sys.Root,
            DevRoot = _dev.Path,
            Access = GuestAccess.Sysfs,
            Mapping = mapping,
            Log = log is null ? null : log.Add,
        });

    [Fact]
    public void TheOwnIdIsIvPositionAndTheRegionIsBar2()
    {
        using GuestDevice device = Open();

        Assert.Equal(7, device.OwnId);
        Assert.Equal("vm-a", device.Self.Name);
        Assert.Equal(9, device.FindPeer("vm-b").PeerId);
        Assert.Equal(RegionSize, device.Region.Memory.Length);
        Assert.Equal(GuestAccess.Sysfs, device.Access);
        Assert.Equal("sysfs", device.Mapping.Method);
        Assert.Equal(2, device.VectorCount);
        Assert.Equal(1, device.DataVector);
    }

    [Fact]
    public void WithoutInterruptsTheDevicePolls()
    {
        using GuestDevice device = Open();
        Assert.False(device.HasInterrupts);
        Assert.IsType<PollingWaiter>(device.Interrupts);
        Assert.Equal(0, device.InterruptCount);
    }

    [Fact]
    public void ADoorbellIsOne32BitWriteOfPeerAndVectorToBar0Offset12()
    {
        using (GuestDevice device = Open())
            device.Doorbell(9, 1).Ring();

        byte[] page = File.ReadAllBytes(Path.Combine(_sys.DevicePath(Bdf), "resource0"));
        Assert.Equal(0x00090001u, BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(0x100 + IvshmemRegisters.DoorbellOffset)));
    }

    [Fact]
    public void ADisabledDeviceIsEnabledFirst()
    {
        string enable = Path.Combine(_sys.DevicePath(Bdf), "enable");
        File.WriteAllText(enable, "0\n");

        using GuestDevice device = Open();

        Assert.Equal("1", File.ReadAllText(enable));
    }

    [Fact]
    public void AutoMappingFallsBackToResource2WhenDevMemCannotBeOpened()
    {
        var log = new List<string>();
        using GuestDevice device = Open(SharedMemoryMapping.Auto, log);

        Assert.Equal("sysfs", device.Mapping.Method);
        Assert.Equal("uncached (UC-)", device.Mapping.Requested);
        Assert.Contains(log, l => l.Contains("no write-back mapping through /dev/mem") && l.Contains("using resource2"));
    }

    [Fact]
    public void DevMemMapsBar2AtItsPhysicalAddress()
    {
        // /dev/mem is one big file indexed by physical address; a sparse file stands in for it.
        const ulong bar2 = 0xfd000000UL;
        FormatRegion(Path.Combine(_dev.Path, "mem"), RegionSize, (long)bar2);
        File.WriteAllBytes(Path.Combine(_sys.DevicePath(Bdf), "resource2"), new byte[RegionSize]);  // would not attach

        using GuestDevice device = Open(SharedMemoryMapping.DevMem);

        Assert.Equal("/dev/mem", device.Mapping.Method);
        Assert.Equal("write-back", device.Mapping.Requested);
        Assert.Equal(bar2, device.Mapping.PhysicalAddress);
        Assert.Equal("vm-b", device.FindPeer("9").Name);
    }

    [Fact]
    public void AnUnformattedBar2IsRefusedWithTheReason()
    {
        File.WriteAllBytes(Path.Combine(_sys.DevicePath(Bdf), "resource2"), new byte[RegionSize]);
        var e = Assert.Throws<RegionFormatException>(() => Open());
        Assert.Contains("not formatted", e.Message);
    }
}
