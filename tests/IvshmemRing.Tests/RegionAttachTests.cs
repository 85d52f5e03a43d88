using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

public class RegionAttachTests
{
    [Fact]
    public void AttachSeesWhatFormatWrote()
    {
        using var region = new TestRegion(1 << 20, slots: 4);
        Region attached = Region.Attach(region.Memory);
        Assert.Equal(region.Region.Geometry, attached.Geometry);
        Assert.Equal(region.Region.FormatId, attached.FormatId);
        Assert.NotEqual(0UL, attached.FormatId);
        Assert.Equal("b", attached.Peers.Read(1).Name);
    }

    [Fact]
    public void UnformattedMemoryIsRefusedWithAHint()
    {
        using var mapping = MappedMemory.Anonymous(1 << 16);
        var e = Assert.Throws<RegionFormatException>(() => Region.Attach(mapping.Memory));
        Assert.Contains("not formatted", e.Message);
    }

    public static TheoryData<int, long, string> BadHeaders => new()
    {
        { RegionLayout.MagicOffset, 0x1122334455667788, "bad magic" },
        { RegionLayout.VersionOffset, 2, "layout version 2 is not supported" },
        { RegionLayout.RegionSizeOffset, 1 << 20, "the header says the region is 1048576 bytes but 65536 are mapped" },
        { RegionLayout.SlotCountOffset, 1000, "impossible region" },
        { RegionLayout.RingCapacityOffset, 1 << 40, "ring capacity" },
        { RegionLayout.RingStrideOffset, 12345, "ring stride" },
        { RegionLayout.HeaderSizeOffset, 0, "header size" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void EveryHeaderFieldIsCheckedAgainstTheComputedGeometry(int offset, long value, string expected)
    {
        using var region = new TestRegion();
        if (offset is RegionLayout.VersionOffset or RegionLayout.SlotCountOffset or RegionLayout.HeaderSizeOffset)
            region.Memory.WriteInt32(offset, (int)value);
        else
            region.Memory.WriteInt64(offset, value);
        var e = Assert.Throws<RegionFormatException>(() => Region.Attach(region.Memory));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void FormatLeavesRingsAtPositionZeroAndSlotsFree()
    {
        using var mapping = MappedMemory.Anonymous(1 << 16);
        mapping.Memory.Span(0, 1 << 16).Fill(0xAB);
        Region region = Region.Format(mapping.Memory, 2);
        Assert.All(region.Peers.ReadAll(), p => Assert.Equal(PeerState.Free, p.State));
        SharedMemory ring = region.RingMemory(1, 0);
        Assert.Equal(0, ring.ReadInt64(RingLayout.TailOffset));
        Assert.Equal(0, ring.ReadInt64(RingLayout.HeadOffset));
        Assert.Equal(0, ring.ReadInt64(RingLayout.ProducerSessionOffset));
    }
}
