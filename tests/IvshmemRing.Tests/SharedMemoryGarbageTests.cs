using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// Whatever a peer writes into shared memory, a caller sees only the library's documented errors
/// (<see cref="IvshmemException"/> and its kinds), never InvalidOperationException or a bare
/// IOException, so that an application can tell "the other side is broken" from its own bugs.
/// </summary>
public sealed class SharedMemoryGarbageTests
{
    [Fact]
    public void OpenWhenThisSidesOwnEntryWasOverwrittenIsPeerGoneException()
    {
        using var region = new TestRegion();
        // A peer rewrites slot 0's state to "gone" (u32 at 256 + 4), leaving the seqlock even.
        region.Memory.WriteInt32(RegionLayout.PeerTableOffset + 4, (int)PeerState.Gone);

        var e = Assert.Throws<PeerGoneException>(() => RingChannel.Open(region.Region, 0, 1, null, PollingWaiter.Instance));

        Assert.Contains("slot 0 is not present", e.Message);
    }

    [Fact]
    public void AnUnknownRecordTypeOnAByteStreamIsRingCorruptedException()
    {
        using var region = new TestRegion();
        (RingChannel a, RingChannel b) = region.PollingChannels();
        Assert.True(a.Producer.TryWrite(new byte[16], type: 5));
        a.Producer.Publish();

        using Stream reader = b.AsStream();
        var e = Assert.Throws<RingCorruptedException>(() => reader.ReadExactly(new byte[16]));

        Assert.Contains("a record of type 5", e.Message);
    }
}
