using Ivshmem.Daemon.Server;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>An fd store inside the test process, for restart tests of the server core in-process:
/// it keeps a duplicate of every stored fd, as systemd does.</summary>
internal sealed class InMemoryFdStore : IFdStore, IDisposable
{
    private readonly List<(string Name, int Fd)> _fds = [];

    public bool Store(string name, int fd)
    {
        lock (_fds) _fds.Add((name, Dup(fd)));
        return true;
    }

    public void Remove(string name)
    {
        lock (_fds)
            foreach (var entry in _fds.Where(e => e.Name == name).ToList())
            {
                Close(entry.Fd);
                _fds.Remove(entry);
            }
    }

    public int Fd(string name)
    {
        lock (_fds) return _fds.Single(e => e.Name == name).Fd;
    }

    /// <summary>What a restarted daemon gets: duplicates of everything stored (the store keeps its own).</summary>
    public RestoredFds Restore()
    {
        lock (_fds) return new RestoredFds(_fds.Select(e => (e.Name, Dup(e.Fd))).ToList());
    }

    public void Dispose()
    {
        lock (_fds)
        {
            foreach (var (_, fd) in _fds) Close(fd);
            _fds.Clear();
        }
    }

    private static int Dup(int fd) => Tmds.Linux.LibC.fcntl(fd, Tmds.Linux.LibC.F_DUPFD_CLOEXEC, 3);

    private static void Close(int fd) => Tmds.Linux.LibC.close(fd);
}
