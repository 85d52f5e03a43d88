using System.Net.Sockets;
using System.Text;

namespace Ivshmem.Daemon.Tests.Hotplug;

/// <summary>
/// A QMP socket that is not QEMU, for the two things a real QEMU does not do on purpose: say nothing
/// at all after accepting, and answer with something that is not QMP. It accepts one client, writes
/// <see cref="Lines"/> (one per line), then keeps the connection open and reads nothing until disposed.
/// </summary>
internal sealed class FakeQmpServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Thread _thread;
    private Socket? _client;

    public FakeQmpServer(string path, params string[] lines)
    {
        Path = path;
        Lines = lines;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
        _thread = new Thread(Serve) { IsBackground = true, Name = "fake QMP" };
        _thread.Start();
    }

    public string Path { get; }
    public IReadOnlyList<string> Lines { get; }

    private void Serve()
    {
        try
        {
            _client = _listener.Accept();
            foreach (string line in Lines) _client.Send(Encoding.UTF8.GetBytes(line + "\r\n"));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { /* disposed */ }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _client?.Dispose();
        _thread.Join(TimeSpan.FromSeconds(5));
    }
}
