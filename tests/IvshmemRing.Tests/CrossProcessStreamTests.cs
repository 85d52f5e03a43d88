using Ivshmem.Ring;
using Ivshmem.TestPeer;

namespace Ivshmem.Ring.Tests;

/// <summary>Two real processes over one memfd, doorbells through eventfds.</summary>
public class CrossProcessStreamTests
{
    private static readonly RingChannelOptions Options = new() { Timeout = TimeSpan.FromSeconds(60) };

    [Fact]
    public void StreamsOneGibibyteWithRandomChunkSizesAndTheChecksumsMatch()
    {
        using var region = new CrossProcessRegion();
        var receiver = region.StartPeer("recv");
        var (_, hash) = Roles.SendStream(region.OpenChannel(Options), 1L << 30, seed: 42);
        string[] lines = CrossProcessRegion.Finish(receiver);
        Assert.Equal($"received {1L << 30} {hash:x16}", lines.Single());
    }

    [Theory]
    [InlineData(WaitMode.SpinThenBlock)]
    [InlineData(WaitMode.Block)]
    [InlineData(WaitMode.BusyPoll)]
    public async Task StreamsBothDirectionsAtOnce(WaitMode mode)
    {
        using var region = new CrossProcessRegion(4L << 20);
        const long bytes = 96L << 20;
        var peer = region.StartPeer("duplex", $"bytes={bytes}", "seed=7", $"mode={mode}");
        RingChannel channel = region.OpenChannel(Options with { WaitMode = mode });
        var receive = Task.Run(() => Roles.ReceiveStream(channel));
        var (sent, sentHash) = Roles.SendStream(channel, bytes, seed: 8);
        var (received, receivedHash) = await receive;

        string[] lines = CrossProcessRegion.Finish(peer);
        Assert.Equal($"received {sent} {sentHash:x16}", lines.Single(l => l.StartsWith("received")));
        Assert.Equal($"sent {received} {receivedHash:x16}", lines.Single(l => l.StartsWith("sent")));
        Assert.Equal(bytes, received);
    }
}
