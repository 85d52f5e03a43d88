using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Server;

/// <summary>
/// A daemon that dies between sending a message and writing it down leaves the next instance unable
/// to know whether the peer got it. A duplicate eventfd would shift QEMU's vectors and a duplicate
/// departure corrupts its heap, so that one peer is never sent anything again (orphaned), while
/// everything else carries on.
/// </summary>
public sealed class OrphanTests
{
    private const int LedgerRecordFlags = 4096; // PeerLedger: records at 4096 + 1024 * slot, flags first
    private const int InFlight = 4;

    [Fact]
    public async Task PeerWithASendInFlightAtTheCrashIsOrphanedButStaysReachableAndIsStillSeenLeaving()
    {
        using var dir = new TestDirectory();
        using var store = new InMemoryFdStore();
        var region = TestConfig.Region("a");
        var first = new RunningServer(TestConfig.Daemon(dir, region), dir, store);
        HostPeer stuck = first.Connect("a", name: "stuck");
        HostPeer fine = first.Connect("a", name: "fine");
        Assert.True(stuck.WaitForPeer(fine.OwnId, Eventually.DefaultTimeout));
        await first.Server.AbandonAsync();
        SetInFlight(store.Fd("a.ledger"), stuck.Self.Slot);

        using var second = new RunningServer(TestConfig.Daemon(dir, region), dir, store, store.Restore());
        Eventually.True(() => second.RegionStatus("a").Peers.Count == 2, "both peers were restored");
        Assert.True(second.RegionStatus("a").Peers.Single(p => p.Name == "stuck").Orphaned);
        Assert.False(second.RegionStatus("a").Peers.Single(p => p.Name == "fine").Orphaned);
        Assert.Single(second.Log.WithEvent(4003));

        HostPeer newcomer = second.Connect("a");
        Assert.True(newcomer.WaitForPeer(stuck.OwnId, Eventually.DefaultTimeout), "the newcomer can still ring the orphan");
        Assert.True(fine.WaitForPeer(newcomer.OwnId, Eventually.DefaultTimeout), "the resumed peer hears of the newcomer");
        Assert.Equal(0, stuck.PeerVectorCount(newcomer.OwnId)); // the orphan is told nothing more
        Assert.Equal(PeerState.Present, newcomer.FindPeer("stuck").State);

        stuck.Dispose();
        Assert.True(newcomer.WaitForDeparture(stuck.OwnId, Eventually.DefaultTimeout), "its departure is still noticed");
        fine.Dispose();
        first.Dispose();
    }

    private static void SetInFlight(int ledgerFd, int slot)
    {
        using var mapping = MappedMemory.MapFile(ledgerFd);
        long flags = LedgerRecordFlags + 1024L * slot;
        mapping.Memory.WriteInt32(flags, mapping.Memory.ReadInt32(flags) | InFlight);
    }
}
