using Ivshmem.Ring;

namespace Ivshmem.Peer;

/// <summary>
/// One peer attached to an ivshmem region: what QEMU gives a guest (BAR2 memory, the Doorbell
/// register, MSI-X vectors), or what ivshmemd gives a host process over its socket (the memfd, the
/// peers' eventfds, its own eventfds). Channels are opened the same way on both, so the ring library
/// runs unchanged in guests, host processes and tests.
/// <para>Vector convention: vector 0 is the control vector (the daemon rings it when a peer joins or
/// leaves); vector 1 carries ring traffic. A device with one vector uses vector 0 for both.</para>
/// </summary>
public abstract class IvshmemEndpoint : IDisposable
{
    public const int ControlVector = 0;

    /// <summary>The region in the shared memory (attached and validated).</summary>
    public abstract Region Region { get; }

    /// <summary>This peer's ivshmem id (IVPosition in a guest; the id the server sent to a host peer).</summary>
    public abstract int OwnId { get; }

    /// <summary>Number of interrupt vectors of this peer (the same for every peer of a region).</summary>
    public abstract int VectorCount { get; }

    /// <summary>Vector used for ring traffic.</summary>
    public int DataVector => VectorCount > 1 ? 1 : 0;

    /// <summary>Rings <paramref name="vector"/> of peer <paramref name="peerId"/>.</summary>
    public abstract IRingSignal Doorbell(int peerId, int vector);

    /// <summary>Sleeps until any of this peer's own vectors fires.</summary>
    public abstract IRingWaiter Interrupts { get; }

    /// <summary>
    /// Cancelled when this endpoint's device is being taken away (a guest's ivshmem device being
    /// hot-unplugged; docs/guest.md, "When the device comes and goes"): stop touching the region and
    /// dispose the endpoint promptly, since the unplug waits until then. Never cancelled for a host peer.
    /// </summary>
    public virtual CancellationToken GoingAway => CancellationToken.None;

    /// <summary>Why <see cref="GoingAway"/> was cancelled ("the device is being unplugged: ..."), or null.</summary>
    public virtual string? GoingAwayReason => null;

    /// <summary>This peer's entry in the peer table (found by its id). The table is shared memory that
    /// any peer can overwrite, so a missing entry is <see cref="PeerGoneException"/>, not misuse.</summary>
    public PeerEntry Self =>
        Region.Peers.FindById(OwnId) ?? throw new PeerGoneException($"peer id {OwnId} is not in the region's peer table: the daemon serving this region did not register it, or the table was overwritten");

    /// <summary>Finds a present peer by name (VM name, host peer name) or by numeric id.</summary>
    public PeerEntry FindPeer(string nameOrId)
    {
        PeerEntry? entry = Region.Peers.FindByName(nameOrId);
        if (entry is null && int.TryParse(nameOrId, out int id)) entry = Region.Peers.FindById(id);
        if (entry is { } found && found.PeerId != OwnId) return found;
        var others = Region.Peers.ReadPresent().Where(p => p.PeerId != OwnId).Select(p => $"{p.Name} (id {p.PeerId})");
        string list = string.Join(", ", others);
        throw new PeerGoneException($"no peer '{nameOrId}' in the region; present: {(list.Length > 0 ? list : "none")}");
    }

    /// <summary>Opens a channel to a present peer, by name or id.</summary>
    public RingChannel OpenChannel(string peer, RingChannelOptions? options = null) => OpenChannel(FindPeer(peer), options);

    public RingChannel OpenChannel(PeerEntry peer, RingChannelOptions? options = null) =>
        RingChannel.Open(Region, Self.Slot, peer.Slot, Doorbell(peer.PeerId, DataVector), Interrupts, options);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
