using System.Net;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Net;

/// <summary>What the peer's net last announced: its instance and addresses, or what was wrong with it.</summary>
/// <param name="Sequence">Counts announcements received on this link, so the control loop sees a repeat.</param>
internal sealed record PeerAnnouncement(ulong Instance, IReadOnlyList<IPAddress> Addresses, string? Error, long Sequence);

/// <summary>
/// One peer of the region as <c>net</c> sees it: its slot and epoch, the two rings to it, what it
/// announced, whether it is up, and the counters. Three threads share it, each writing only its own
/// part (the producer is the sender's, the consumer the receiver's, routes and state the control
/// loop's); the shared fields are volatile or read with <see cref="Volatile"/>, and a counter is
/// written by one thread only. A new peer in the slot (another epoch) is another link.
/// </summary>
internal sealed class PeerLink(PeerEntry peer, IRingSignal doorbell)
{
    public PeerEntry Peer { get; } = peer;
    public IRingSignal Doorbell { get; } = doorbell;
    public string Label { get; } = peer.Name.Length > 0 ? $"'{peer.Name}' (id {peer.PeerId})" : $"id {peer.PeerId}";

    // --- written by the control loop ---

    /// <summary>The peer left its slot: the threads stop touching this link's rings.</summary>
    public volatile bool Retired;

    /// <summary>Routes are installed: the sender carries packets to it.</summary>
    public volatile bool Up;

    /// <summary>The peer's addresses that passed the checks: the sources its packets may carry.</summary>
    public volatile HashSet<UInt128> AcceptedSources = [];

    /// <summary>The peer instance whose announcement this side accepted (0: none): what this side's
    /// heartbeats say it heard.</summary>
    public long AcceptedInstance;

    // --- written by the sender (TUN to ring) ---

    public RingProducer? Producer;
    public long ToPeerPackets;
    public long ToPeerBytes;
    public long DroppedDown;
    public long DroppedTooBig;
    public long DroppedStalled;
    public long Stalls;

    /// <summary>The ring to the peer stayed full with nothing read (<see cref="NetTimings.StallLimit"/>).</summary>
    public volatile bool Stalled;

    /// <summary>Set by any thread when the peer needs this side's announcement (again).</summary>
    public volatile bool AnnounceWanted = true;

    public long NextHeartbeat;
    public long LastAnnounced;
    public bool Dirty;
    public long PublishedAt;

    // --- written by the receiver (ring to TUN) ---

    public RingConsumer? Consumer;
    public long FromPeerPackets;
    public long FromPeerBytes;

    /// <summary>Packets whose source is not one of the peer's accepted addresses, or whose
    /// destination is not one of ours, or that are not IP at all.</summary>
    public long DroppedInvalid;

    /// <summary>Packets the kernel refused (a malformed virtio header, the device down).</summary>
    public long DroppedByKernel;

    /// <summary>Records of a type net does not know (another agent command on the same ring).</summary>
    public long ForeignRecords;

    public volatile PeerAnnouncement? Announcement;
    public long PeerInstance;
    public long PeerHeard;
    public long LastHeard;
    public volatile bool SaidBye;

    /// <summary>Why a ring to or from the peer failed for good (the peer wrote impossible positions or
    /// lengths); null while both work. Set by the sender or the receiver.</summary>
    public volatile string? Broken;

    /// <summary>The first dropped packet's reason, for the log (one line per link, not one per packet).</summary>
    public volatile string? InvalidPacketNote;

    // --- the control loop's own ---

    public string State = "down";
    public string Reason = "its net has not answered";
    public long SeenAnnouncement;
    public long SeenStalls;
    public bool InvalidNoted;
    public long RetryAt;
    public List<IPAddress> Accepted = [];
    public List<string> Refused = [];
    public string? ScreenOutcome;
    public Dictionary<IPAddress, InstalledRoute> Routes = [];
}

/// <summary>A host route this side installed, with the source address it gave it.</summary>
internal sealed record InstalledRoute(IPAddress Destination, IPAddress? Source)
{
    public override string ToString() =>
        $"{Destination}/{(Destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)}{(Source is null ? "" : $" src {Source}")}";
}
