using Ivshmem.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// The file side of a listening UNIX socket, shared by the regions' sockets and the control socket:
/// making its path free before bind, and its mode and ownership after.
/// </summary>
internal static class SocketPaths
{
    /// <summary>
    /// Makes <paramref name="path"/> free for a new socket (<paramref name="what"/> names it in the
    /// log): nothing there is fine; a socket file that refuses connections is a leftover (a daemon
    /// that was killed) and is removed; a socket that accepts is another live server and a file that
    /// is not a socket is someone's data: both stop the set-up with the reason.
    /// </summary>
    public static void Prepare(string path, string what, ILogger log)
    {
        uint type = Interop.PathType(path);
        if (type == 0)
        {
            // bind(2) would only say ENOENT; say which directory is missing and who makes it.
            string? directory = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
                throw new IOException($"{path}: directory {directory} does not exist; create it (ivshmemd creates only runtime_directory) or choose another socket path");
            return;
        }
        if (type != Interop.S_IFSOCK_)
            throw new IOException($"{path} exists and is not a socket; remove it or choose another socket path");
        int errno = Interop.ConnectProbe(path);
        if (errno == 0)
            throw new IOException($"another server is listening on {path}; is ivshmemd already running?");
        if (errno is Interop.ECONNREFUSED or Interop.ENOENT)
        {
            Interop.Unlink(path);
            log.StaleSocketReplaced(what, path);
            return;
        }
        throw Interop.ErrorFor(errno, $"checking the existing socket {path}");
    }

    /// <summary>Mode first, then owner and group (so CAP_FOWNER is never needed).</summary>
    public static void ApplyOwnership(string path, UnixFileMode mode, string? owner, string? group)
    {
        Interop.Chmod(path, mode);
        if (owner is null && group is null) return;
        uint uid = owner is null ? uint.MaxValue : UserDatabase.UserId(owner);
        uint gid = group is null ? uint.MaxValue : UserDatabase.GroupId(group);
        Interop.Chown(path, uid, gid);
    }
}
