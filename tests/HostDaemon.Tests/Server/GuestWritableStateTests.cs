using System.Security.Cryptography;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Server;

/// <summary>
/// Issue 10, findings 1 and 6: any peer can write the whole region, header and peer table included,
/// so nothing the daemon decides may come from there. Its own state (format id, geometry, ids, epochs,
/// who holds which slot) lives in its private ledger; on resume it rewrites what peers read from it,
/// and a region a guest scribbled on is resumed, never thrown away.
/// </summary>
public sealed class GuestWritableStateTests
{
    private const int PeerTableOffset = 256;
    private const int PeerEntrySize = 128;
    private const int EpochInEntry = 8;

    [Fact]
    public async Task RegionWhoseHeaderAPeerScribbledIsResumedAfterARestartNotStartedAfresh()
    {
        using var dir = new TestDirectory();
        using var store = new InMemoryFdStore();
        var region = TestConfig.Region("a");
        var first = new RunningServer(TestConfig.Daemon(dir, region), dir, store);
        HostPeer one = first.Connect("a", name: "one");
        HostPeer two = first.Connect("a", name: "two");
        Assert.True(one.WaitForPeer(two.OwnId, Eventually.DefaultTimeout));
        ulong formatId = one.Region.FormatId;
        uint epochOne = one.Self.Epoch, epochTwo = two.Self.Epoch;
        int headerSize = one.Region.Geometry.HeaderSize;
        await first.Server.AbandonAsync();

        // The attacker: random bytes over the header and the whole peer table.
        RandomNumberGenerator.Fill(one.Memory.Span(0, headerSize));
        one.Memory.WriteInt64(0, 0x0BAD0BAD0BAD0BAD); // certainly a bad magic

        using var second = new RunningServer(TestConfig.Daemon(dir, region), dir, store, store.Restore());
        Assert.Empty(second.Log.WithEvent(4002));
        Assert.Equal(2, second.RegionStatus("a").Peers.Count);
        Assert.Equal(formatId, second.RegionStatus("a").FormatId);

        HostPeer three = second.Connect("a", name: "three");
        Assert.Equal(formatId, three.Region.FormatId); // the header was rewritten: it attaches
        Assert.Equal(two.OwnId + 1, three.OwnId);
        PeerEntry seenOne = three.FindPeer("one"), seenTwo = three.FindPeer("two");
        Assert.Equal((PeerState.Present, one.OwnId, epochOne), (seenOne.State, seenOne.PeerId, seenOne.Epoch));
        Assert.Equal((PeerState.Present, two.OwnId, epochTwo), (seenTwo.State, seenTwo.PeerId, seenTwo.Epoch));
        Assert.True(one.WaitForPeer(three.OwnId, Eventually.DefaultTimeout), "the resumed peer hears of the newcomer");
        Assert.True(one.IsServerConnected);
        Assert.Empty(one.Problems);
        one.Dispose();
        two.Dispose();
        first.Dispose();
    }

    [Fact]
    public void EpochScribbledToItsMaximumDoesNotMakeTheNextJoinReuseAnEarlierEpoch()
    {
        using var server = new RunningServer(TestConfig.Region());
        HostPeer stays = server.Connect(name: "stays");
        HostPeer leaves = server.Connect(name: "leaves");
        int slot = leaves.Self.Slot;
        var epochsOfSlot = new List<uint> { leaves.Self.Epoch };
        leaves.Dispose();
        server.WaitForPeerCount(1);
        HostPeer again = server.Connect(name: "again");
        Assert.Equal(slot, again.Self.Slot);
        epochsOfSlot.Add(again.Self.Epoch);
        again.Dispose();
        server.WaitForPeerCount(1);

        stays.Memory.WriteInt32(PeerTableOffset + (long)PeerEntrySize * slot + EpochInEntry, unchecked((int)0xFFFFFFFF));

        HostPeer newcomer = server.Connect(name: "newcomer");
        Assert.Equal(slot, newcomer.Self.Slot);
        Assert.DoesNotContain(newcomer.Self.Epoch, epochsOfSlot);
        Assert.Equal(epochsOfSlot.Max() + 1, newcomer.Self.Epoch); // the daemon's own count, not the scribbled one
    }

    [Fact]
    public async Task EpochsSurviveARestartInTheLedgerNotInTheRegion()
    {
        using var dir = new TestDirectory();
        using var store = new InMemoryFdStore();
        var region = TestConfig.Region("a");
        var first = new RunningServer(TestConfig.Daemon(dir, region), dir, store);
        HostPeer stays = first.Connect("a", name: "stays");
        HostPeer leaves = first.Connect("a", name: "leaves");
        int slot = leaves.Self.Slot;
        uint epoch = leaves.Self.Epoch;
        leaves.Dispose();
        first.WaitForPeerCount(1, "a");
        await first.Server.AbandonAsync();
        // Scribbled while no daemon runs: to 0 (so "larger of the two" would give back epoch 1).
        stays.Memory.WriteInt32(PeerTableOffset + (long)PeerEntrySize * slot + EpochInEntry, 0);

        using var second = new RunningServer(TestConfig.Daemon(dir, region), dir, store, store.Restore());
        Assert.Equal(PeerState.Gone, stays.Region.Peers.Read(slot).State);
        Assert.Equal(epoch, stays.Region.Peers.Read(slot).Epoch); // rewritten from the ledger
        HostPeer newcomer = second.Connect("a", name: "newcomer");
        Assert.Equal(slot, newcomer.Self.Slot);
        Assert.Equal(epoch + 1, newcomer.Self.Epoch);
        stays.Dispose();
        first.Dispose();
    }

    [Fact]
    public void WhenAnAttackerLeavesTheHeaderIsRewrittenAndRingsBetweenEmptySlotsStartAfresh()
    {
        using var server = new RunningServer(TestConfig.Region());
        HostPeer one = server.Connect(name: "one");
        HostPeer two = server.Connect(name: "two");
        HostPeer attacker = server.Connect(name: "attacker");
        int a = one.Self.Slot, b = two.Self.Slot, x = attacker.Self.Slot;
        SharedMemory memory = attacker.Memory;
        RegionGeometry g = attacker.Region.Geometry;
        // Impossible positions in every ring between the three, and a scribbled header.
        foreach ((int from, int to) in new[] { (a, b), (b, a), (a, x), (x, a), (b, x), (x, b) })
            memory.WriteInt64(g.RingIndex(from, to) + RingLayout.TailOffset, -1);
        memory.WriteInt32(RegionLayout.SlotCountOffset, 77);

        attacker.Dispose();
        server.WaitForPeerCount(2);
        memory = two.Memory;
        Assert.Equal(g.Slots, memory.ReadInt32(RegionLayout.SlotCountOffset));
        // one and two are still there: the rings between them and the attacker's slot are theirs to
        // repair when they open them; the header is the daemon's.
        Assert.Equal(-1, memory.ReadInt64(g.RingIndex(a, x) + RingLayout.TailOffset));

        one.Dispose();
        server.WaitForPeerCount(1);
        // a and x are both empty now: their rings start afresh; a <-> b waits for b to leave.
        Assert.Equal(0, memory.ReadInt64(g.RingIndex(a, x) + RingLayout.TailOffset));
        Assert.Equal(0, memory.ReadInt64(g.RingIndex(x, a) + RingLayout.TailOffset));
        Assert.Equal(-1, memory.ReadInt64(g.RingIndex(a, b) + RingLayout.TailOffset));
        two.Dispose();
        server.WaitForPeerCount(0);

        // Two well-behaved newcomers talk, with no restart of the daemon.
        using HostPeer three = server.Connect(name: "three");
        memory = three.Memory;
        Assert.Equal(0, memory.ReadInt64(g.RingIndex(a, b) + RingLayout.TailOffset));
        Assert.Equal(0, memory.ReadInt64(g.RingIndex(b, a) + RingLayout.TailOffset));
        using HostPeer four = server.Connect(name: "four");
        RingChannel toFour = three.OpenChannel("four");
        RingChannel fromThree = four.OpenChannel("three");
        toFour.Send([1, 2, 3], type: RecordTypes.FirstApplicationType);
        RingRecord record = fromThree.Receive();
        Assert.Equal(new byte[] { 1, 2, 3 }, record.Payload.ToArray());
    }
}
