using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Ivshmem.Daemon.Control;

/// <summary>
/// The client side of <c>ivshmemd status</c>: asks the daemon on its control socket and prints a
/// table, or the JSON as the daemon sent it.
/// </summary>
public static class StatusClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Asks the daemon at <paramref name="socketPath"/> for its status and writes it to
    /// <paramref name="output"/> as text or JSON; returns the exit status (0, or 1 when the daemon
    /// cannot be reached; the reason goes to standard error).</summary>
    public static async Task<int> RunAsync(string socketPath, bool json, TextWriter output, CancellationToken cancellationToken)
    {
        string answer;
        try
        {
            answer = await QueryAsync(socketPath, cancellationToken);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"ivshmemd status: error: {Explain(socketPath, e)}");
            return 1;
        }
        if (json)
        {
            await output.WriteLineAsync(answer);
            return 0;
        }
        StatusReport? report;
        try { report = JsonSerializer.Deserialize(answer, StatusJson.Default.StatusReport); }
        catch (JsonException e)
        {
            await Console.Error.WriteLineAsync($"ivshmemd status: error: the daemon at {socketPath} answered something that is not a status report ({e.Message}): {answer}");
            return 1;
        }
        if (report is null)
        {
            await Console.Error.WriteLineAsync($"ivshmemd status: error: the daemon at {socketPath} sent an empty answer");
            return 1;
        }
        await output.WriteAsync(StatusTable.Format(report));
        return 0;
    }

    /// <summary>One request, one JSON answer, read to the end.</summary>
    public static async Task<string> QueryAsync(string socketPath, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes(ControlServer.StatusRequest + "\n"), SocketFlags.None, timeout.Token);
        using var answer = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            answer.Write(buffer, 0, n);
        return Encoding.UTF8.GetString(answer.ToArray());
    }

    private static string Explain(string socketPath, Exception e) => e switch
    {
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable or SocketError.ConnectionRefused } =>
            $"no daemon answers on {socketPath} (not running, or a stale socket file)",
        SocketException { SocketErrorCode: SocketError.AccessDenied } =>
            $"{socketPath}: permission denied; members of the daemon's control_group may ask it (see 'ivshmemd status --help')",
        SocketException se when se.SocketErrorCode == SocketError.SocketError && !File.Exists(socketPath) =>
            $"{socketPath} does not exist: is ivshmemd running (with this control socket)?",
        OperationCanceledException => $"the daemon at {socketPath} did not answer within {Timeout.TotalSeconds:0} s",
        _ => !File.Exists(socketPath) ? $"{socketPath} does not exist: is ivshmemd running (with this control socket)?" : $"{socketPath}: {e.Message}",
    };
}
