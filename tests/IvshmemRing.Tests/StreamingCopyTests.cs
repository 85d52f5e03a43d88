using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>The copy with non-temporal stores that a stream's long reads use (docs/ring.md, "The copy
/// ceiling"): every byte where a plain copy puts it, whatever the alignment of either side, and
/// nothing written outside the destination's range.</summary>
public class StreamingCopyTests
{
    public static TheoryData<int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int sourceOffset in new[] { 0, 1, 33 })
            foreach (int destinationOffset in new[] { 0, 1, 17, 63, 64 })
                foreach (int length in new[] { 0, 1, 127, 128, 129, 4095, 65536 + 5 })
                    data.Add(sourceOffset, destinationOffset, length);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void CopiesEveryByteAndNothingAroundIt(int sourceOffset, int destinationOffset, int length)
    {
        const byte Guard = 0xEE;
        var random = new Random(length * 131 + sourceOffset * 7 + destinationOffset);
        byte[] source = new byte[sourceOffset + length + 64];
        random.NextBytes(source);
        byte[] destination = new byte[destinationOffset + length + 64];
        destination.AsSpan().Fill(Guard);

        StreamingCopy.Copy(source.AsSpan(sourceOffset, length), destination.AsSpan(destinationOffset));
        StreamingCopy.Fence();

        Assert.True(source.AsSpan(sourceOffset, length).SequenceEqual(destination.AsSpan(destinationOffset, length)));
        Assert.All(destination[..destinationOffset], b => Assert.Equal(Guard, b));
        Assert.All(destination[(destinationOffset + length)..], b => Assert.Equal(Guard, b));
    }

    [Fact]
    public void ADestinationShorterThanTheSourceIsRefusedBeforeAnythingIsWritten()
    {
        byte[] source = new byte[4096];
        byte[] destination = new byte[4095];
        Assert.Throws<ArgumentException>(() => StreamingCopy.Copy(source, destination));
        Assert.All(destination, b => Assert.Equal(0, b));
    }
}
