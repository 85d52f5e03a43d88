using Ivshmem.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// Notices when the file of a listening UNIX socket disappears under the daemon (someone removed the
/// runtime directory, a tmpfiles clean-up): the listening fd keeps working for nobody, since new
/// clients connect by path. Remembers the file's identity (device, inode) after bind; <see cref="Check"/>
/// says whether the owner must bind again. A file that replaced ours (another server on the same
/// path) is reported once and left alone.
/// </summary>
internal sealed class SocketFileWatch(string path, string what, ILogger log)
{
    private (ulong Device, ulong Inode)? _bound;
    private bool _replacedReported;

    public string Path { get; } = path;

    /// <summary>Takes the identity of the socket file just bound.</summary>
    public void Bound()
    {
        _bound = Interop.PathIdentity(Path);
        _replacedReported = false;
    }

    /// <summary>True when the socket file is gone and the owner should bind again (logged here).</summary>
    public bool Check()
    {
        if (_bound is null) return false;
        (ulong, ulong)? now;
        try { now = Interop.PathIdentity(Path); }
        catch (IOException) { return false; } // unreadable directory: not proof that it is gone
        if (now == _bound) return false;
        if (now is null)
        {
            log.SocketFileRemoved(what, Path);
            return true;
        }
        if (!_replacedReported) log.SocketFileReplaced(what, Path);
        _replacedReported = true;
        return false;
    }

    /// <summary>Binds again through <paramref name="listen"/> (which prepares the path and says what is
    /// wrong with it); false (logged) when that fails, to be retried at the next check.</summary>
    public bool Rebind(Action listen)
    {
        try
        {
            listen();
            log.SocketFileRecreated(what, Path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.SocketFileRecreateFailed(what, Path, e.Message);
            return false;
        }
    }
}
