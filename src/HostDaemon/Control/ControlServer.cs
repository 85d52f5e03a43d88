using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Server;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Control;

/// <summary>
/// The control socket <c>ivshmemd status</c> talks to: a UNIX stream socket, mode 0660 with the
/// configured group (control_group), so members of that group may read the daemon's state. The
/// protocol is one line: the client writes "status\n", the daemon answers with one JSON document
/// (<see cref="StatusReport"/>) and closes. It only reads state, so it runs on thread-pool threads and
/// never touches the event loop.
/// </summary>
internal sealed class ControlServer : IAsyncDisposable
{
    public const string StatusRequest = "status";
    private const int MaxRequestBytes = 256;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);
    private const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    private readonly string _path;
    private readonly string? _group;
    private readonly Func<StatusReport> _report;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();   // the listener is swapped by the watch loop and closed by DisposeAsync
    private readonly SocketFileWatch _watch;
    private Socket? _listener;
    private Task? _acceptLoop;
    private Task? _watchLoop;
    private bool _lost;                       // the socket file was removed and binding again failed

    public ControlServer(string path, string? group, Func<StatusReport> report, ILogger log)
    {
        _path = path;
        _group = group;
        _report = report;
        _log = log;
        _watch = new SocketFileWatch(path, "control socket", log);
    }

    /// <summary>Listens on the control socket; a failure is an <see cref="IOException"/> whose message
    /// starts with "control socket:" and says why (the daemon logs it as the reason it did not start).</summary>
    public void Start()
    {
        try
        {
            StartListening();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"control socket: {e.Message}", e);
        }
        _watchLoop = WatchLoop();
        _log.ControlListening(_path);
    }

    /// <summary>Makes the socket's directory and path ready, binds, and starts accepting: at start
    /// and whenever the socket file has been removed under the daemon.</summary>
    private void StartListening()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        SocketPaths.Prepare(_path, "control socket", _log);
        Socket listener = Listen();
        _listener = listener;
        _watch.Bound();
        _acceptLoop = AcceptLoop(listener);
    }

    /// <summary>Binds again when the socket file is removed under the daemon (a cleaned runtime
    /// directory), so that <c>ivshmemd status</c> keeps working (docs/protocol.md, "Faults").</summary>
    private async Task WatchLoop()
    {
        while (true)
        {
            try { await Task.Delay(IvshmemServer.FileCheckInterval, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            lock (_gate)
            {
                if (_stop.IsCancellationRequested) return;
                if (!_lost && !_watch.Check()) continue;
                _listener?.Dispose(); // its accept loop ends
                _listener = null;
                _lost = !_watch.Rebind(StartListening);
            }
        }
    }

    /// <summary>Binds and listens through the errno funnel rather than Socket.Bind, whose
    /// SocketException keeps only a SocketError (ENOENT would read "Cannot assign requested address").</summary>
    private Socket Listen()
    {
        int fd = Interop.SocketCreate(Tmds.Linux.LibC.SOCK_STREAM, nonBlocking: false);
        bool bound = false;
        try
        {
            Interop.Bind(fd, _path);
            bound = true;
            SocketPaths.ApplyOwnership(_path, Mode, owner: null, _group);
            Interop.Listen(fd, 64, _path);
            return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        }
        catch
        {
            Interop.Close(fd);
            // Only a file this call created; an unlink error must not hide the reason.
            if (bound) try { Interop.Unlink(_path); } catch (IOException) { }
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_watchLoop is null) return;
        Task? acceptLoop;
        lock (_gate)
        {
            _stop.Cancel();
            _listener?.Dispose();
            acceptLoop = _acceptLoop;
        }
        if (acceptLoop is not null) await acceptLoop.ConfigureAwait(false);
        await _watchLoop.ConfigureAwait(false);
        try { Interop.Unlink(_path); }
        catch (IOException e) { _log.SocketUnlinkFailed(_path, e.Message); }
        _listener = null;
        _watchLoop = null;
        _stop.Dispose();
    }

    private async Task AcceptLoop(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                _log.ControlRequestFailed(e.Message);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }
            _ = Serve(client);
        }
    }

    private async Task Serve(Socket client)
    {
        using (client)
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            timeout.CancelAfter(RequestTimeout);
            try
            {
                string request = await ReadLine(client, timeout.Token).ConfigureAwait(false);
                bool known = request == StatusRequest;
                byte[] answer = known
                    ? JsonSerializer.SerializeToUtf8Bytes(_report(), StatusJson.Default.StatusReport)
                    : Encoding.UTF8.GetBytes($"{{\"error\": \"unknown request; the only request is '{StatusRequest}'\"}}");
                await client.SendAsync(answer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);
                // Not the request itself: a client may send anything, and the log is no place for it.
                if (!known) _log.ControlRequestFailed($"an unknown request ({Encoding.UTF8.GetByteCount(request)} bytes); answered with an error and closed");
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                _log.ControlRequestFailed($"no complete request and answer within {(int)RequestTimeout.TotalSeconds} s; closed");
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                _log.ControlRequestFailed(e.Message);
            }
        }
    }

    private static async Task<string> ReadLine(Socket client, CancellationToken ct)
    {
        byte[] buffer = new byte[MaxRequestBytes];
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0) break;
            filled += n;
            int newline = Array.IndexOf(buffer, (byte)'\n', 0, filled);
            if (newline >= 0) return Encoding.UTF8.GetString(buffer, 0, newline).Trim();
        }
        return Encoding.UTF8.GetString(buffer, 0, filled).Trim();
    }
}
