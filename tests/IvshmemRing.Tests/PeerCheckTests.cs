using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>The peer check a waiting channel makes on every wake-up: free while nothing changed, and
/// still naming the departed peer once something did.</summary>
public class PeerCheckTests
{
    [Fact]
    public void ThrowIfPeerGoneAllocatesNothingWhileBothPeersArePresent()
    {
        using var region = new TestRegion();
        RingChannel channel = RingChannel.Open(region.Region, 0, 1, null, PollingWaiter.Instance);
        channel.ThrowIfPeerGone();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) channel.ThrowIfPeerGone();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void ThrowIfPeerGoneNamesThePeerThatLeftAndTheOneThatTookItsSlot()
    {
        using var region = new TestRegion();
        RingChannel channel = RingChannel.Open(region.Region, 0, 1, null, PollingWaiter.Instance);

        region.Region.Peers.Leave(1);
        Assert.Contains("'b' (id 11) left (slot 1 is gone)", Assert.Throws<PeerGoneException>(channel.ThrowIfPeerGone).Message);

        region.Region.Peers.Join(1, peerId: 12, PeerKind.HostProcess, "c");
        Assert.Contains("left slot 1, which now holds 'c' (id 12)", Assert.Throws<PeerGoneException>(channel.ThrowIfPeerGone).Message);
    }

    [Fact]
    public void ThrowIfPeerGoneSaysSoWhenThisSideLostItsSlot()
    {
        using var region = new TestRegion();
        RingChannel channel = RingChannel.Open(region.Region, 0, 1, null, PollingWaiter.Instance);

        region.Region.Peers.Leave(0);

        Assert.Contains("this side no longer holds slot 0", Assert.Throws<PeerGoneException>(channel.ThrowIfPeerGone).Message);
    }
}
