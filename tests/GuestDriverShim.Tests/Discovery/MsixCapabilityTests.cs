using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests;

public sealed class MsixCapabilityTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(64)]
    [InlineData(2048)]
    public void TheTableSizeIsTheFieldPlusOne(int vectors)
    {
        var (hasMsix, found) = PciDiscovery.FindMsix(FakeSysfs.ConfigSpace(0x1af4, 0x1110, vectors, full: true));
        Assert.True(hasMsix);
        Assert.Equal(vectors, found);
    }

    [Fact]
    public void NoCapabilityListMeansNoMsix()
    {
        var (hasMsix, vectors) = PciDiscovery.FindMsix(FakeSysfs.ConfigSpace(0x1af4, 0x1110, null, full: true));
        Assert.False(hasMsix);
        Assert.Null(vectors);
    }

    [Fact]
    public void AShortDumpIsUnknownNotAbsent()
    {
        var (hasMsix, _) = PciDiscovery.FindMsix(FakeSysfs.ConfigSpace(0x1af4, 0x1110, 2, full: false));
        Assert.Null(hasMsix);
    }

    [Fact]
    public void ACapabilityListThatLoopsEndsTheWalk()
    {
        byte[] config = FakeSysfs.ConfigSpace(0x1af4, 0x1110, 2, full: true);
        config[0x50] = 0x09;  // the MSI-X entry becomes vendor-specific ...
        config[0x51] = 0x40;  // ... and points back at the first: a loop
        var (hasMsix, vectors) = PciDiscovery.FindMsix(config);
        Assert.False(hasMsix);
        Assert.Null(vectors);
    }

    [Fact]
    public void APointerIntoTheHeaderEndsTheWalk()
    {
        byte[] config = FakeSysfs.ConfigSpace(0x1af4, 0x1110, 2, full: true);
        config[0x34] = 0x10;  // capabilities never live in the standard header
        Assert.False(PciDiscovery.FindMsix(config).HasMsix);
    }
}
