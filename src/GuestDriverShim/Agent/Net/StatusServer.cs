using System.Net.Sockets;
using System.Text;

namespace Ivshmem.Agent.Net;

/// <summary>
/// The UNIX socket through which <c>net status</c> asks a running net: one per TUN device name under
/// <see cref="DirectoryPath"/>, mode 0600. A client connects and reads the status as JSON until the
/// server closes; it sends nothing.
/// </summary>
internal sealed class StatusServer : IDisposable
{
    public const string DirectoryPath = "/run/ivshmem-agent";

    private readonly Socket _listener;
    private readonly string _path;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private StatusServer(Socket listener, string path, Func<string> status)
    {
        _listener = listener;
        _path = path;
        _loop = Task.Run(() => Serve(status));
    }

    public static string PathOf(string tunName) => $"{DirectoryPath}/{tunName}.sock";

    /// <summary>True when a net answers for <paramref name="tunName"/>.</summary>
    public static bool Answers(string tunName)
    {
        try
        {
            using Socket socket = Connect(tunName);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Listens for <paramref name="tunName"/> (a socket file nobody answers on is replaced).</summary>
    public static StatusServer Start(string tunName, Func<string> status)
    {
        Directory.CreateDirectory(DirectoryPath);
        string path = PathOf(tunName);
        if (File.Exists(path)) File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            // Only root asks (the guard only tells the platform analyzer what is always true here).
            if (OperatingSystem.IsLinux()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(8);
            return new StatusServer(listener, path, status);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Asks the net of <paramref name="tunName"/> for its status (JSON); throws
    /// <see cref="IOException"/> saying so when none runs.</summary>
    public static string Query(string tunName)
    {
        Socket socket;
        try
        {
            socket = Connect(tunName);
        }
        catch (SocketException e)
        {
            throw new IOException($"no 'ivshmem-agent net' runs with the TUN device {tunName}: nothing answers on {PathOf(tunName)} ({e.Message})");
        }
        using (socket)
        using (var stream = new NetworkStream(socket))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            socket.ReceiveTimeout = 5000;
            return reader.ReadToEnd();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { _loop.Wait(); }
        catch (AggregateException) { /* the accept loop ends with the socket */ }
        try { File.Delete(_path); }
        catch (IOException) { /* gone already */ }
        _stop.Dispose();
    }

    private static Socket Connect(string tunName)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(PathOf(tunName)));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task Serve(Func<string> status)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            using (client)
            {
                // Whatever goes wrong with one client (it left, net is stopping and its control loop
                // no longer answers) ends that client only.
                try { await client.SendAsync(Encoding.UTF8.GetBytes(status()), SocketFlags.None, _stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or SocketException or TimeoutException or AggregateException) { }
            }
        }
    }
}
