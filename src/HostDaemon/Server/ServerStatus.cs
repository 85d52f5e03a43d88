using Ivshmem.Daemon.Configuration;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Server;

/// <summary>An immutable picture of what the server serves, published after every change (join,
/// leave, reload). Readers on other threads (STATUS=, the control socket) take it as it is.</summary>
public sealed record ServerStatus(IReadOnlyList<RegionStatus> Regions)
{
    public static ServerStatus Empty { get; } = new([]);

    public int PeerCount => Regions.Sum(r => r.Peers.Count);
}

/// <summary>One region as served now.</summary>
/// <param name="State">serving; retiring (removed from the configuration, waits for its peers to
/// leave); changed (the configuration changed it; applied once its peers have left).</param>
/// <param name="Restored">Its memory came back from the fd store after a daemon restart.</param>
public sealed record RegionStatus(
    string Name,
    long SizeBytes,
    RegionBacking Backing,
    string MemoryDescription,
    string SocketPath,
    int Vectors,
    int MaxPeers,
    string State,
    bool Restored,
    ulong FormatId,
    long NextPeerId,
    IReadOnlyList<PeerStatus> Peers);

/// <summary>One connected peer.</summary>
/// <param name="Restored">Its connection came back from the fd store: it joined an earlier daemon instance.</param>
/// <param name="Orphaned">The daemon cannot tell it anything any more (see docs/protocol.md,
/// "Daemon restart"): it shares memory and doorbells with the peers it knew, but does not learn
/// about newcomers.</param>
public sealed record PeerStatus(
    int Id,
    int Slot,
    string Name,
    PeerKind Kind,
    int Pid,
    uint Uid,
    string User,
    DateTimeOffset Since,
    bool Restored,
    bool Orphaned);
