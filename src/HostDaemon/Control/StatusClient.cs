using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Control;

/// <summary>
/// The client side of <c>ivshmemd status</c>: asks the daemon on its control socket and prints a
/// table, or the JSON as the daemon sent it.
/// </summary>
public static class StatusClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Asks the daemon at <paramref name="socketPath"/> for its status and writes it to
    /// <paramref name="output"/> as text or JSON; returns the exit status. When there is no answer, one
    /// line on <paramref name="error"/> says which socket and why, and the status tells the cases apart
    /// (<see cref="ExitCodes.Unavailable"/>: no daemon; <see cref="ExitCodes.NoPermission"/>).</summary>
    public static async Task<int> RunAsync(string socketPath, bool json, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string answer;
        try
        {
            answer = await QueryAsync(socketPath, cancellationToken);
        }
        catch (Exception e) when (e is SocketException or IOException or ArgumentException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            (int exitCode, string message) = Explain(socketPath, e);
            await error.WriteLineAsync($"ivshmemd status: error: {message}");
            return exitCode;
        }
        if (json)
        {
            await output.WriteLineAsync(answer);
            return ExitCodes.Ok;
        }
        StatusReport? report;
        try { report = JsonSerializer.Deserialize(answer, StatusJson.Default.StatusReport); }
        catch (JsonException e)
        {
            await error.WriteLineAsync($"ivshmemd status: error: the daemon at {socketPath} answered something that is not a status report ({e.Message}): {answer}");
            return ExitCodes.Failure;
        }
        if (report is null)
        {
            await error.WriteLineAsync($"ivshmemd status: error: the daemon at {socketPath} sent an empty answer");
            return ExitCodes.Failure;
        }
        await output.WriteAsync(StatusTable.Format(report));
        return ExitCodes.Ok;
    }

    /// <summary>The daemon's status report, for commands that decide by it (<c>attach</c>). Failures to
    /// get an answer are thrown as by <see cref="QueryAsync"/> (<see cref="Explain"/> words them); an
    /// answer that is not a report is an <see cref="InvalidDataException"/>.</summary>
    public static async Task<StatusReport> ReportAsync(string socketPath, CancellationToken cancellationToken)
    {
        string answer = await QueryAsync(socketPath, cancellationToken);
        try
        {
            return JsonSerializer.Deserialize(answer, StatusJson.Default.StatusReport)
                ?? throw new InvalidDataException($"the daemon at {socketPath} sent an empty answer");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the daemon at {socketPath} answered something that is not a status report ({e.Message})");
        }
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

    private const string RunningHint = "is ivshmemd running? (for a daemon with another control_socket, give --socket PATH)";

    /// <summary>The exit status and the message for a query that got no answer. The socket layer
    /// reports ENOENT as AddressNotAvailable and EACCES/EPERM as AccessDenied.</summary>
    internal static (int ExitCode, string Message) Explain(string socketPath, Exception e) => Explain(socketPath, e, RunningHint);

    /// <summary>As <see cref="Explain(string, Exception)"/>, with <paramref name="runningHint"/> for
    /// "is it running?" (a command that takes the socket from the configuration says so).</summary>
    internal static (int ExitCode, string Message) Explain(string socketPath, Exception e, string runningHint) => e switch
    {
        SocketException { SocketErrorCode: SocketError.AccessDenied } =>
            (ExitCodes.NoPermission, $"cannot connect to {socketPath}: permission denied; run it as root or as a member of the daemon's control_group (see 'ivshmemd status --help')"),
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } =>
            (ExitCodes.Unavailable, $"cannot connect to {socketPath}: nothing listens on it (connection refused; a socket file left behind, or not a socket); {runningHint}"),
        SocketException when !File.Exists(socketPath) =>
            (ExitCodes.Unavailable, $"cannot connect to {socketPath}: no such socket; {runningHint}"),
        OperationCanceledException =>
            (ExitCodes.Unavailable, $"the daemon at {socketPath} did not answer within {Timeout.TotalSeconds:0} s; is it hung? (systemctl status ivshmemd)"),
        ArgumentException when Encoding.UTF8.GetByteCount(socketPath) > ConfigLimits.MaxSocketPathBytes =>
            (ExitCodes.Failure, $"{socketPath} cannot be a control socket: it is {Encoding.UTF8.GetByteCount(socketPath)} bytes, and a UNIX socket path holds at most {ConfigLimits.MaxSocketPathBytes}"),
        ArgumentException =>
            (ExitCodes.Failure, $"{socketPath} cannot be a control socket: {e.Message.ReplaceLineEndings(" ")}"),
        _ => (ExitCodes.Unavailable, $"cannot ask the daemon at {socketPath}: {e.Message}; {runningHint}"),
    };
}
