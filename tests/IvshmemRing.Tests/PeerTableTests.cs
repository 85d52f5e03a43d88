using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

public class PeerTableTests
{
    [Fact]
    public void JoinLeaveAndRejoinAdvanceTheEpochAndTheGeneration()
    {
        using var region = new TestRegion(1 << 20, slots: 3);
        PeerTable peers = region.Region.Peers;
        long generation = peers.Generation;
        Assert.Equal(1u, region.B.Epoch);

        peers.Leave(1);
        PeerEntry gone = peers.Read(1);
        Assert.Equal(PeerState.Gone, gone.State);
        Assert.Equal(1u, gone.Epoch);

        PeerEntry again = peers.Join(1, 12, PeerKind.VirtualMachine, "vm-b2");
        Assert.Equal(2u, again.Epoch);
        Assert.Equal(12, again.PeerId);
        Assert.Equal(PeerKind.VirtualMachine, again.Kind);
        Assert.Equal(generation + 2, peers.Generation);
        Assert.Equal(again, peers.FindByName("vm-b2"));
        Assert.Equal(again, peers.FindById(12));
        Assert.Null(peers.FindByName("b"));
    }

    [Fact]
    public void NamesLongerThanTheEntryAreRefused()
    {
        using var region = new TestRegion();
        var e = Assert.Throws<ArgumentException>(() => region.Region.Peers.Join(0, 1, PeerKind.VirtualMachine, new string('x', 65)));
        Assert.Contains("at most 64", e.Message);
    }

    [Fact]
    public void AWriterThatNeverFinishesDoesNotHangReaders()
    {
        using var region = new TestRegion();
        long entry = region.Region.Geometry.PeerEntryIndex(1);
        region.Memory.WriteInt32(entry, 7); // odd sequence forever
        var e = Assert.Throws<RegionFormatException>(() => region.Region.Peers.Read(1));
        Assert.Contains("never became stable", e.Message);
    }

    [Theory]
    [InlineData(4, 9, "state 9")]
    [InlineData(12, 70000, "peer id 70000")]
    [InlineData(16, 5, "peer kind 5")]
    [InlineData(20, 65, "name length 65")]
    [InlineData(20, -1, "name length -1")]
    public void ScribbledEntriesAreReportedNotTrusted(int field, int value, string expected)
    {
        using var region = new TestRegion();
        long entry = region.Region.Geometry.PeerEntryIndex(1);
        region.Memory.WriteInt32(entry + field, value);
        var e = Assert.Throws<RegionFormatException>(() => region.Region.Peers.Read(1));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void InvalidUtf8NamesAreReported()
    {
        using var region = new TestRegion();
        long entry = region.Region.Geometry.PeerEntryIndex(0);
        region.Memory.Span(entry + 32, 2).Fill(0xFF);
        var e = Assert.Throws<RegionFormatException>(() => region.Region.Peers.Read(0));
        Assert.Contains("not valid UTF-8", e.Message);
    }
}
