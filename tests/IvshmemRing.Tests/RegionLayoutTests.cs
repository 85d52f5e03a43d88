using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

public class RegionLayoutTests
{
    [Theory]
    [InlineData(64L * 1024)]
    [InlineData(1L << 20)]
    [InlineData(1L << 30)]
    [InlineData(16L << 30)]
    [InlineData(1L << 40)]
    public void TwoSlotsGiveEachDirectionCloseToHalfTheRegion(long size)
    {
        RegionGeometry g = RegionLayout.Compute(size, 2);
        Assert.Equal(2, g.RingCount);
        Assert.Equal(4096, g.HeaderSize);
        // Each ring gets half of what the header leaves, less its control block and alignment.
        Assert.InRange(g.RingCapacity, (size - 4096) / 2 - RingLayout.ControlSize - RegionLayout.Alignment, (size - 4096) / 2);
        Assert.Equal(0, g.RingCapacity % RegionLayout.Alignment);
        Assert.True(g.HeaderSize + g.RingCount * g.RingStride <= size);
    }

    [Theory]
    [InlineData(64L * 1024, 2)]
    [InlineData(1L << 20, 8)]
    [InlineData(8L << 20, 64)]
    [InlineData(1L << 30, 17)]
    public void RingsAreAlignedDisjointAndInsideTheRegion(long size, int slots)
    {
        RegionGeometry g = RegionLayout.Compute(size, slots);
        var seen = new HashSet<int>();
        for (int from = 0; from < slots; from++)
            for (int to = 0; to < slots; to++)
            {
                if (from == to) continue;
                int n = g.RingNumber(from, to);
                Assert.InRange(n, 0, g.RingCount - 1);
                Assert.True(seen.Add(n), $"ring ({from},{to}) shares number {n}");
                long index = g.RingIndex(from, to);
                Assert.Equal(0, index % RegionLayout.Alignment);
                Assert.True(index >= g.HeaderSize && index + g.RingStride <= size);
            }
        Assert.Equal(g.RingCount, seen.Count);
        Assert.True(RegionLayout.PeerTableOffset + slots * RegionLayout.PeerEntrySize <= g.HeaderSize);
    }

    [Theory]
    [InlineData(3L << 20, "power of two")]
    [InlineData(32L * 1024, "power of two from 65536")]
    [InlineData(0, "power of two")]
    public void InvalidSizesAreRejectedWithTheReason(long size, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => RegionLayout.Compute(size, 2));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TooManySlotsForASmallRegionSaysWhatWouldFit()
    {
        var e = Assert.Throws<ArgumentException>(() => RegionLayout.Compute(64 * 1024, 64));
        Assert.Contains("too small for 64 slots", e.Message);
        Assert.Contains("fewer slots or a larger region", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65)]
    public void SlotCountOutsideTheRangeIsRejected(int slots)
    {
        var e = Assert.Throws<ArgumentException>(() => RegionLayout.Compute(1 << 20, slots));
        Assert.Contains("2..64", e.Message);
    }

    [Fact]
    public void MaxPayloadIsAnEighthOfTheRingCappedAt64MiB()
    {
        Assert.Equal(1024 - 8, RingLayout.MaxPayloadFor(8192));
        Assert.Equal(64 * 1024 * 1024 - 8, RingLayout.MaxPayloadFor(8L << 30));
    }
}
