using System.Diagnostics;
using Ivshmem.Ring;
using Ivshmem.TestPeer;

namespace Ivshmem.Ring.Tests;

/// <summary>The peer process is SIGKILLed mid-transfer: the survivor gets a clear error, never a hang.</summary>
public class PeerDeathTests
{
    [Fact]
    public async Task AReceiverLearnsThatAKilledSenderIsGoneOnceTheTableSaysSo()
    {
        using var region = new CrossProcessRegion(4L << 20);
        Process sender = region.StartPeer("send", $"bytes={1L << 40}", "seed=1");
        RingChannel channel = region.OpenChannel(new RingChannelOptions { Timeout = TimeSpan.FromSeconds(60) });
        Stream stream = channel.AsStream();
        byte[] buffer = new byte[64 * 1024];
        for (long got = 0; got < 16 << 20;) got += stream.Read(buffer);

        // What ivshmemd does when a peer's socket closes: mark its slot gone, ring the others.
        Task daemon = Task.Run(() =>
        {
            sender.WaitForExit();
            region.Region.Peers.Leave(1);
            Interop.EventFdSignal(region.EventA);
        });
        sender.Kill();
        try
        {
            var e = Assert.Throws<PeerGoneException>(() => { while (stream.Read(buffer) > 0) { } });
            Assert.Contains("'b' (id 1) left", e.Message);
        }
        finally
        {
            await daemon;
        }
    }

    [Fact]
    public void ASenderBlockedOnAKilledReceiverTimesOutWhenNobodyUpdatesTheTable()
    {
        using var region = new CrossProcessRegion(4L << 20);
        Process receiver = region.StartPeer("recv");
        RingChannel channel = region.OpenChannel(new RingChannelOptions { Timeout = TimeSpan.FromSeconds(2) });
        Stream stream = channel.AsStream();
        byte[] buffer = new byte[64 * 1024];
        for (int i = 0; i < 256; i++) stream.Write(buffer);
        receiver.Kill();
        receiver.WaitForExit();

        var e = Assert.Throws<TimeoutException>(new Action(() => { while (true) stream.Write(buffer); }));
        Assert.Contains("peer b is not reading", e.Message);
        Assert.Contains("the limit is 2 s", e.Message);
    }
}
