using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>
/// A minimal QMP client: JSON lines over QEMU's -qmp UNIX socket. Every read is bounded, so a QEMU
/// that hangs (for instance spinning inside ivshmem realize) fails the test instead of hanging it.
/// </summary>
internal sealed class QmpClient : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    /// <summary>Connects (retrying while QEMU creates the socket), reads the greeting, enters command mode.</summary>
    public static QmpClient Connect(string path, Func<string> diagnostics)
    {
        long deadline = Environment.TickCount64 + (long)CommandTimeout.TotalMilliseconds;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                var client = new QmpClient(socket);
                client.ReadMessage(diagnostics); // greeting
                client.Execute("qmp_capabilities", diagnostics);
                return client;
            }
            catch (SocketException) when (Environment.TickCount64 < deadline)
            {
                socket.Dispose();
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>Runs a command and returns its "return" value; an "error" answer fails the test.</summary>
    public JsonNode? Execute(string command, Func<string> diagnostics, JsonObject? arguments = null)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null) request["arguments"] = arguments;
        _writer.WriteLine(request.ToJsonString());
        while (true)
        {
            JsonNode message = ReadMessage(diagnostics);
            if (message["event"] is not null) continue; // asynchronous events are not answers
            if (message["error"] is { } error) throw new InvalidOperationException($"QMP {command} failed: {error.ToJsonString()}");
            return message["return"];
        }
    }

    /// <summary>HMP through QMP (for commands QMP lacks, like reading guest memory with xp).</summary>
    public string Human(string commandLine, Func<string> diagnostics) =>
        Execute("human-monitor-command", diagnostics, new JsonObject { ["command-line"] = commandLine })?.GetValue<string>() ?? "";

    private JsonNode ReadMessage(Func<string> diagnostics)
    {
        Task<string?> line = _reader.ReadLineAsync();
        if (!line.Wait(CommandTimeout))
            throw new TimeoutException($"QEMU did not answer on QMP within {CommandTimeout.TotalSeconds:0} s (stuck?): {diagnostics()}");
        if (line.Result is not { } text) throw new IOException($"QEMU closed its QMP socket: {diagnostics()}");
        return JsonNode.Parse(text) ?? throw new IOException($"QMP sent an empty message: {diagnostics()}");
    }

    public void Dispose()
    {
        _socket.Dispose();
        _reader.Dispose();
    }
}
