using System.Text;
using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// The peer table is memory every peer can write (docs/ring.md, "One region, one trust domain"):
/// lookups refuse what is visibly forged and let one broken entry hide only its own peer.
/// </summary>
public sealed class PeerTableTrustTests
{
    private const int EntrySize = RegionLayout.PeerEntrySize;

    [Fact]
    public void APeerThatRenamesItsEntryToAPresentPeersNameIsRefusedNotServed()
    {
        using var region = new TestRegion(slots: 3);
        // Peer "a" (slot 0, before the real "b" in slot 1) rewrites its own entry's name to "b":
        // name length u32 at +20, name at +32, the seqlock left even.
        long a = RegionLayout.PeerTableOffset + 0 * EntrySize;
        region.Memory.WriteInt32(a + 20, 1);
        Encoding.UTF8.GetBytes("b").CopyTo(region.Memory.Span(a + 32, 1));

        var e = Assert.Throws<RegionFormatException>(() => region.Region.Peers.FindByName("b"));

        Assert.Contains("two present peers claim the name 'b' (slots 0 and 1)", e.Message);
    }

    [Fact]
    public void APeerThatCopiesAPresentPeersIdIsRefusedNotServed()
    {
        using var region = new TestRegion(slots: 3);
        region.Memory.WriteInt32(RegionLayout.PeerTableOffset + 12, region.B.PeerId); // slot 0's id := b's

        var e = Assert.Throws<RegionFormatException>(() => region.Region.Peers.FindById(region.B.PeerId));

        Assert.Contains($"two present peers claim id {region.B.PeerId} (slots 0 and 1)", e.Message);
    }

    [Fact]
    public void AnEntryThatCannotBeReadHidesOnlyItsOwnPeer()
    {
        using var region = new TestRegion(slots: 3);
        PeerEntry c = region.Region.Peers.Join(2, peerId: 12, PeerKind.HostProcess, "c");
        // Slot 1 ("b") held locked forever: its sequence odd.
        region.Memory.WriteInt32(RegionLayout.PeerTableOffset + 1 * EntrySize, 1);

        Assert.Equal(c, region.Region.Peers.FindByName("c"));
        Assert.Equal(region.A, region.Region.Peers.FindById(region.A.PeerId));
        Assert.Null(region.Region.Peers.FindByName("b"));
        Assert.Throws<RegionFormatException>(() => region.Region.Peers.Read(1)); // asked directly, it says why
        Assert.Equal([region.A, c], region.Region.Peers.ReadPresent()); // who is there, for messages
    }
}
