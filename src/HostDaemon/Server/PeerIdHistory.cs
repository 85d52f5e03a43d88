namespace Ivshmem.Daemon.Server;

/// <summary>
/// Ids are never handed out twice in a region while the daemon runs (QEMU 7.2 corrupts its heap when
/// an id comes back), even when the region is closed and opened again under the same name: changed,
/// or removed and added back on reload. This remembers, by region name, where the counter of each
/// closed region stood.
/// </summary>
internal sealed class PeerIdHistory
{
    private readonly Dictionary<string, long> _nextPeerIds = new(StringComparer.Ordinal);

    /// <summary>The next peer id of a region of this name that was closed earlier in this run (0 if none).</summary>
    public long NextPeerIdOf(string region) => _nextPeerIds.GetValueOrDefault(region);

    /// <summary>True when a region of this name was closed earlier in this run.</summary>
    public bool Knows(string region) => _nextPeerIds.ContainsKey(region);

    /// <summary>A region closes with its counter at <paramref name="nextPeerId"/>; the counter never goes back.</summary>
    public void Remember(string region, long nextPeerId) =>
        _nextPeerIds[region] = Math.Max(nextPeerId, NextPeerIdOf(region));
}
