namespace Ivshmem.Daemon.Server;

/// <summary>
/// Somewhere outside the daemon that keeps file descriptors across a daemon restart: systemd's file
/// descriptor store (FDSTORE=1 on the notify socket) in production, a test double in tests. The
/// server core only knows this interface; the hosting layer plugs systemd in.
/// </summary>
public interface IFdStore
{
    /// <summary>Hands a duplicate of <paramref name="fd"/> to the store under <paramref name="name"/>
    /// (the caller keeps its own fd). Returns false when the store refused or is unreachable; the
    /// daemon then simply cannot resume that object after a restart.</summary>
    bool Store(string name, int fd);

    /// <summary>Drops every fd stored under <paramref name="name"/>.</summary>
    void Remove(string name);
}

/// <summary>The fds a restarted daemon got back from the store (systemd: LISTEN_FDS/LISTEN_FDNAMES),
/// by name. The server takes what it recognises and closes the rest.</summary>
public sealed class RestoredFds
{
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);

    public RestoredFds(IEnumerable<(string Name, int Fd)> fds)
    {
        foreach ((string name, int fd) in fds)
        {
            // systemd allows several fds under one name; names here are unique by construction, so a
            // second one is a leftover of something else: close it rather than guess.
            if (!_byName.TryAdd(name, fd)) Interop.Close(fd);
        }
    }

    public static RestoredFds None { get; } = new([]);

    public int Count => _byName.Count;

    public IEnumerable<string> Names => _byName.Keys;

    /// <summary>Takes the fd stored as <paramref name="name"/> (the caller owns it now), or -1.</summary>
    public int Take(string name) => _byName.Remove(name, out int fd) ? fd : -1;

    /// <summary>Closes everything nobody took; returns the names, for the log.</summary>
    public IReadOnlyList<string> CloseRemaining()
    {
        var names = _byName.Keys.ToList();
        foreach (int fd in _byName.Values) Interop.Close(fd);
        _byName.Clear();
        return names;
    }
}

/// <summary>
/// Names of stored fds. FDNAME allows printable ASCII without ':' up to 255 characters; region names
/// are letters, digits, '-', '_' and '.', so a name is parsed from its end: "&lt;region&gt;.memory",
/// "&lt;region&gt;.ledger", "&lt;region&gt;.p&lt;id&gt;.socket", "&lt;region&gt;.p&lt;id&gt;.v&lt;k&gt;".
/// </summary>
internal static class FdNames
{
    public static string Memory(string region) => region + ".memory";
    public static string Ledger(string region) => region + ".ledger";
    public static string PeerSocket(string region, int peerId) => $"{region}.p{peerId}.socket";
    public static string PeerVector(string region, int peerId, int vector) => $"{region}.p{peerId}.v{vector}";
}
