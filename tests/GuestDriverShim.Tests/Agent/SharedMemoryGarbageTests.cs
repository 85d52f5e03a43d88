using Ivshmem.Agent.Cli;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Tests.Agent;

/// <summary>Garbage a peer writes into the peer table reaches the agent's user as the library's
/// documented error, never as "internal error".</summary>
public sealed class SharedMemoryGarbageTests
{
    [Fact]
    public void OwnIdRewrittenInThePeerTableIsPeerGoneNotAnInternalError()
    {
        using var region = new TestRegion();
        var a = region.Join(0, "a");
        region.Join(1, "b");
        // A peer rewrites slot 0's peer id (u32 at 256 + 12), leaving the seqlock even.
        region.Region.Memory.WriteInt32(RegionLayout.PeerTableOffset + 12, 999);

        var e = Assert.Throws<PeerGoneException>(() => a.Self);
        (int code, string message) = AgentApp.Classify(e);

        Assert.Equal(ExitCodes.PeerGone, code);
        Assert.DoesNotContain("internal error", message);
    }
}
