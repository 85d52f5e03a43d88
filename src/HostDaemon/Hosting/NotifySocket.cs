using System.Text;
using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Server;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Hosting;

/// <summary>
/// sd_notify(3) on $NOTIFY_SOCKET: READY/STATUS/WATCHDOG/RELOADING/STOPPING, and systemd's file
/// descriptor store (FDSTORE=1 with the fds as SCM_RIGHTS, FDSTOREREMOVE=1), which the hosting
/// package's own notifier cannot do. It is registered as the host's <see cref="ISystemdNotifier"/>
/// whether or not the parent is systemd, so a test that owns the notify socket sees every datagram.
/// </summary>
public sealed class NotifySocket : ISystemdNotifier, IFdStore, IDisposable
{
    /// <summary>Long enough for a busy systemd, short enough that a dead one cannot hang the daemon.</summary>
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    private readonly string? _path;
    private readonly ILogger? _log;
    private readonly object _gate = new();
    private int _socket = -1;
    private bool _warned;

    /// <summary>For tests and odd launchers: notify <paramref name="path"/> ('@' = abstract; null = nowhere).</summary>
    internal NotifySocket(string? path, ILogger? log)
    {
        _path = string.IsNullOrEmpty(path) ? null : path;
        _log = log;
    }

    /// <summary>The socket named by $NOTIFY_SOCKET (filesystem or abstract; vsock: is not supported).</summary>
    public static NotifySocket FromEnvironment(ILogger? log)
    {
        string? path = Environment.GetEnvironmentVariable(SystemdVariables.NotifySocket);
        if (path is not null && !(path.StartsWith('/') || path.StartsWith('@'))) path = null;
        return new NotifySocket(path, log);
    }

    public bool IsEnabled => _path is not null;

    public void Notify(ServiceState state) => Send(state.ToString(), []);

    /// <summary>Sends <paramref name="text"/> (lines of KEY=VALUE); false when it did not get there.</summary>
    public bool Send(string text, ReadOnlySpan<int> fds)
    {
        if (_path is null) return false;
        byte[] data = Encoding.UTF8.GetBytes(text);
        lock (_gate)
        {
            try
            {
                if (_socket < 0)
                {
                    _socket = Interop.SocketCreate(Tmds.Linux.LibC.SOCK_DGRAM, nonBlocking: false);
                    Interop.SetSendTimeout(_socket, SendTimeout);
                }
                int errno = Interop.SendDatagram(_socket, _path, data, fds, dontWait: false);
                if (errno == 0) return true;
                Warn(Interop.ErrorFor(errno, "sendmsg").Message);
                return false;
            }
            catch (IOException e)
            {
                Warn(e.Message);
                return false;
            }
        }
    }

    /// <summary>FDSTORE=1 with one fd under <paramref name="name"/> (systemd duplicates it).</summary>
    public bool Store(string name, int fd) => Send($"FDSTORE=1\nFDNAME={name}", [fd]);

    public void Remove(string name) => Send($"FDSTOREREMOVE=1\nFDNAME={name}", []);

    public void Dispose()
    {
        lock (_gate)
        {
            Interop.Close(_socket);
            _socket = -1;
        }
    }

    private void Warn(string reason)
    {
        if (_warned) return;
        _warned = true; // once: a daemon without its notify socket must not flood the log
        _log?.NotifyFailed(_path!, reason);
    }
}
