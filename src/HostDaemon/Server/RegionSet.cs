using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// The regions being served, by name, with the context each is opened in. Used on the thread that
/// starts the server (before the loop runs) and on the loop thread after.
/// </summary>
internal sealed class RegionSet(RegionContext context)
{
    private readonly Dictionary<string, ServedRegion> _regions = new(StringComparer.Ordinal);

    public int Count => _regions.Count;

    public IEnumerable<ServedRegion> All => _regions.Values;

    public ServedRegion this[string name] => _regions[name];

    public bool Contains(string name) => _regions.ContainsKey(name);

    /// <summary>The region served under <paramref name="name"/> now, if any.</summary>
    public bool TryGet(string name, out ServedRegion region) => _regions.TryGetValue(name, out region!);

    /// <summary>Sets a region up (<see cref="ServedRegion.Open"/>) and serves it; throws as that does,
    /// and <see cref="ArgumentException"/> for a name already served.</summary>
    public void Open(RegionOptions options, RestoredFds restored) =>
        _regions.Add(options.Name, ServedRegion.Open(context, options, restored));

    /// <summary>Ends a region for good (removed, or about to be re-created): out of the set and the
    /// fd store, closed.</summary>
    public void Discard(ServedRegion region, bool unlinkSocket)
    {
        _regions.Remove(region.Name);
        region.ForgetStoredFds();
        region.Close(unlinkSocket);
    }

    /// <summary>Closes every region (<see cref="ServedRegion.Close"/>) and forgets them; their fds stay
    /// in the store for the next daemon.</summary>
    public void CloseAll(bool unlinkSocket)
    {
        foreach (ServedRegion r in _regions.Values) r.Close(unlinkSocket);
        _regions.Clear();
    }
}
