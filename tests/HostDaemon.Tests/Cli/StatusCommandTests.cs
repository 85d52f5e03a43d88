using System.Net.Sockets;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Cli;

/// <summary><c>ivshmemd status</c> when there is no daemon to ask: one line on standard error that
/// names the socket, the reason and what to check, nothing on standard output, and an exit status
/// that tells "not running" (69) from "not allowed" (77).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StatusCommandTests
{
    private const string Hint = "is ivshmemd running? (for a daemon with another control_socket, give --socket PATH)";

    [Fact]
    public async Task MissingControlSocketExitsUnavailableWithOneLineOnStandardError()
    {
        using var dir = new TestDirectory();
        string path = dir.File("control.sock");

        CliResult result = await CliRunner.RunAsync("status", "--socket", path);

        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal($"ivshmemd status: error: cannot connect to {path}: no such socket; {Hint}", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task MissingDirectoryIsNoSuchSocketToo()
    {
        using var dir = new TestDirectory();
        string path = dir.File("gone/control.sock");

        CliResult result = await CliRunner.RunAsync("status", "--json", "--socket", path);

        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal($"ivshmemd status: error: cannot connect to {path}: no such socket; {Hint}", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task SocketFileLeftBehindByAKilledDaemonExitsUnavailable()
    {
        using var dir = new TestDirectory();
        string path = dir.File("control.sock");
        // A socket file nobody listens on. Socket.Dispose removes the file it bound, so the file is
        // moved to its place first and stays when the socket is closed.
        using (var left = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            left.Bind(new UnixDomainSocketEndPoint(path + ".bound"));
            File.Move(path + ".bound", path);
        }
        Assert.True(File.Exists(path));

        CliResult result = await CliRunner.RunAsync("status", "--socket", path);

        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Equal("", result.Output);
        string line = Assert.Single(result.ErrorLines);
        Assert.Equal($"ivshmemd status: error: cannot connect to {path}: nothing listens on it (connection refused; a socket file left behind, or not a socket); {Hint}", line);
    }

    [Fact]
    public async Task PlainFileInPlaceOfTheSocketExitsUnavailable()
    {
        using var dir = new TestDirectory();
        string path = dir.File("control.sock");
        File.WriteAllText(path, "not a socket");

        CliResult result = await CliRunner.RunAsync("status", "--socket", path);

        Assert.Equal(ExitCodes.Unavailable, result.ExitCode);
        Assert.Contains("nothing listens on it", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void PermissionDeniedExitsNoPermissionWithTheControlGroupHint()
    {
        // Root is never refused by file modes, so the mapping is checked on the exception the socket
        // layer throws for EACCES (and EPERM); SocketTheUserMayNotOpenExitsNoPermission sees it for
        // real when the tests run as an ordinary user.
        (int exitCode, string message) = StatusClient.Explain("/run/ivshmemd/control.sock", new SocketException((int)SocketError.AccessDenied));

        Assert.Equal(ExitCodes.NoPermission, exitCode);
        Assert.Equal("cannot connect to /run/ivshmemd/control.sock: permission denied; run it as root or as a member of the daemon's control_group (see 'ivshmemd status --help')", message);
    }

    [Fact]
    public async Task SocketTheUserMayNotOpenExitsNoPermission()
    {
        if (Environment.IsPrivilegedProcess)
            return; // root passes any mode; PermissionDeniedExitsNoPermissionWithTheControlGroupHint covers the mapping
        using var dir = new TestDirectory();
        string path = dir.File("control.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        File.SetUnixFileMode(path, UnixFileMode.None);

        CliResult result = await CliRunner.RunAsync("status", "--socket", path);

        Assert.Equal(ExitCodes.NoPermission, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Contains("permission denied", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void NoAnswerInTimeExitsUnavailable()
    {
        (int exitCode, string message) = StatusClient.Explain("/run/x.sock", new OperationCanceledException());

        Assert.Equal(ExitCodes.Unavailable, exitCode);
        Assert.Equal("the daemon at /run/x.sock did not answer within 5 s; is it hung? (systemctl status ivshmemd)", message);
    }

    [Fact]
    public async Task PathTooLongForASocketIsOneLineNotAStackTrace()
    {
        string path = "/tmp/" + new string('s', 120) + ".sock";

        CliResult result = await CliRunner.RunAsync("status", "--socket", path);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Equal($"ivshmemd status: error: {path} cannot be a control socket: it is 130 bytes, and a UNIX socket path holds at most 107", line);
        Assert.DoesNotContain("internal error", line);
    }

    [Fact]
    public async Task TheBuiltBinaryWritesTheErrorToStandardErrorAndExits69()
    {
        using var dir = new TestDirectory();
        string path = dir.File("control.sock");

        CliResult result = await ChildProcess.RunAsync(ChildProcess.IvshmemdBinary, ["status", "--socket", path]);

        Assert.Equal(69, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal($"ivshmemd status: error: cannot connect to {path}: no such socket; {Hint}", Assert.Single(result.ErrorLines));
    }
}
