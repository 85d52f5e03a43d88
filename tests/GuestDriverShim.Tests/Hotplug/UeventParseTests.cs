using System.Text;
using Ivshmem.Peer.Guest;

namespace Ivshmem.Peer.Tests.Hotplug;

/// <summary>Uevent datagrams as the kernel sends them, and the odd ones anybody else might.</summary>
public sealed class UeventParseTests
{
    private static byte[] Datagram(params string[] parts) => Encoding.UTF8.GetBytes(string.Join('\0', parts) + "\0");

    /// <summary>What the kernel sent when an ivshmem device was hot-added behind a root port (QEMU 7.2, Linux 6.1).</summary>
    private static readonly byte[] HotAdd = Datagram(
        "add@/devices/pci0000:00/0000:00:01.0/0000:01:00.0", "ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:01.0/0000:01:00.0",
        "SUBSYSTEM=pci", "PCI_CLASS=50000", "PCI_ID=1AF4:1110", "PCI_SUBSYS_ID=1AF4:1100", "PCI_SLOT_NAME=0000:01:00.0",
        "MODALIAS=pci:v00001AF4d00001110sv00001AF4sd00001100bc05sc00i00", "SEQNUM=1712");

    [Fact]
    public void AKernelEventGivesActionPathAndProperties()
    {
        Uevent uevent = Assert.IsType<Uevent>(Uevent.TryParse(HotAdd, out string? error));
        Assert.Null(error);
        Assert.Equal("add", uevent.Action);
        Assert.Equal("/devices/pci0000:00/0000:00:01.0/0000:01:00.0", uevent.DevPath);
        Assert.Equal("pci", uevent.Subsystem);
        Assert.Equal("0000:01:00.0", uevent.PciSlotName);
        Assert.True(uevent.IsIvshmem);
        Assert.Equal("1712", uevent.Get("SEQNUM"));
        Assert.Null(uevent.Get("DRIVER"));
    }

    [Fact]
    public void AnotherPciDeviceIsNotIvshmemAndANetDeviceHasNoSlot()
    {
        Uevent virtio = Uevent.TryParse(Datagram("add@/devices/pci0000:00/0000:00:02.0", "SUBSYSTEM=pci", "PCI_ID=1AF4:1000", "PCI_SLOT_NAME=0000:00:02.0"), out _)!;
        Assert.False(virtio.IsIvshmem);
        Uevent lo = Uevent.TryParse(Datagram("change@/devices/virtual/net/lo", "SUBSYSTEM=net", "PCI_SLOT_NAME=0000:01:00.0"), out _)!;
        Assert.Null(lo.PciSlotName);
        Assert.False(lo.IsIvshmem);
    }

    [Fact]
    public void WithoutTheFinalNulTheLastPropertyEndsAtTheEnd()
    {
        byte[] bytes = HotAdd[..^1];
        Assert.NotEqual(0, bytes[^1]);
        Uevent uevent = Uevent.TryParse(bytes, out _)!;
        Assert.Equal("1712", uevent.Get("SEQNUM"));
    }

    [Fact]
    public void APropertyWithoutAnEqualsSignIsSkipped()
    {
        Uevent uevent = Uevent.TryParse(Datagram("remove@/devices/x", "garbage", "=novalue", "SUBSYSTEM=pci"), out _)!;
        Assert.Equal(["SUBSYSTEM"], uevent.Properties.Keys);
    }

    [Theory]
    [InlineData("libudev", "no ACTION@DEVPATH")]            // udev's own format starts with "libudev\0"
    [InlineData("@/devices/x", "no ACTION@DEVPATH")]
    [InlineData("add@", "no ACTION@DEVPATH")]
    public void AFirstStringThatIsNotActionAtPathIsRefused(string header, string reason)
    {
        Assert.Null(Uevent.TryParse(Datagram(header, "SUBSYSTEM=pci"), out string? error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void OnlyNulBytesAreRefused()
    {
        Assert.Null(Uevent.TryParse(new byte[16], out string? error));
        Assert.Contains("only NUL bytes", error);
    }

    [Fact]
    public void AnEmptyDatagramIsRefused()
    {
        Assert.Null(Uevent.TryParse([], out string? error));
        Assert.Contains("empty", error);
    }

    [Fact]
    public void BytesThatAreNotUtf8AreRefused()
    {
        byte[] bytes = [.. Encoding.ASCII.GetBytes("add@/devices/x\0SUBSYSTEM="), 0xff, 0xfe, 0xc3, 0];
        Assert.Null(Uevent.TryParse(bytes, out string? error));
        Assert.Contains("UTF-8", error);
    }

    [Fact]
    public void ADatagramLongerThanTheKernelsBufferIsRefused()
    {
        byte[] huge = Datagram("add@/devices/x", "BIG=" + new string('x', Uevent.MaxLength));
        Assert.Null(Uevent.TryParse(huge, out string? error));
        Assert.Contains("longer than a uevent", error);
        // Exactly the buffer's size is still one.
        byte[] full = new byte[Uevent.MaxLength];
        Encoding.ASCII.GetBytes("add@/devices/x\0K=").CopyTo(full, 0);
        full.AsSpan(17).Fill((byte)'v');
        Assert.NotNull(Uevent.TryParse(full, out _));
    }

    [Fact]
    public void MorePropertiesThanAUeventCarriesAreRefused()
    {
        string[] parts = [.. new[] { "add@/devices/x" }, .. Enumerable.Range(0, 65).Select(i => $"K{i}=v")];
        Assert.Null(Uevent.TryParse(Datagram(parts), out string? error));
        Assert.Contains("more than a uevent carries", error);
    }
}
