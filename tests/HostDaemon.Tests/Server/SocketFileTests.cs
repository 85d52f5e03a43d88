using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Server;

/// <summary>The region socket files: stale ones replaced, anything else in the way a clear error,
/// the configured mode applied, removed on a clean stop.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SocketFileTests
{
    [Fact]
    public void StaleSocketFileOfAKilledDaemonIsReplaced()
    {
        using var dir = new TestDirectory();
        LeaveStaleSocket(dir.File("a.sock"));
        Assert.True(File.Exists(dir.File("a.sock")));
        using var server = new RunningServer(TestConfig.Daemon(dir, TestConfig.Region("a")), dir);

        using var peer = Peer.Host.HostPeer.Connect(dir.File("a.sock"));
        Assert.Equal(0, peer.OwnId);
        Assert.Contains(dir.File("a.sock"), Assert.Single(server.Log.WithEvent(1008)).Message);
    }

    /// <summary>Binds and closes a socket without removing its file (.NET's Socket would remove it),
    /// which is what a killed daemon leaves behind.</summary>
    private static unsafe void LeaveStaleSocket(string path)
    {
        int fd = Tmds.Linux.LibC.socket(Tmds.Linux.LibC.AF_UNIX, Tmds.Linux.LibC.SOCK_STREAM, 0);
        byte* address = stackalloc byte[110];
        new Span<byte>(address, 110).Clear();
        *(ushort*)address = (ushort)Tmds.Linux.LibC.AF_UNIX;
        int n = System.Text.Encoding.UTF8.GetBytes(path, new Span<byte>(address + 2, 107));
        Assert.Equal(0, Tmds.Linux.LibC.bind(fd, (Tmds.Linux.sockaddr*)address, 2 + n + 1));
        Tmds.Linux.LibC.listen(fd, 1);
        Tmds.Linux.LibC.close(fd);
    }

    [Fact]
    public void RegularFileAtTheSocketPathStopsTheStartWithTheReasonAndIsLeftAlone()
    {
        using var dir = new TestDirectory();
        File.WriteAllText(dir.File("b.sock"), "precious");
        var server = new IvshmemServer(TestConfig.Daemon(dir, TestConfig.Region("a"), TestConfig.Region("b")), new CapturingLogger());

        var error = Assert.Throws<IOException>(server.Start);

        Assert.Contains("region 'b'", error.Message);
        Assert.Contains("is not a socket", error.Message);
        Assert.Equal("precious", File.ReadAllText(dir.File("b.sock")));
        Assert.False(File.Exists(dir.File("a.sock"))); // all or nothing: region a was closed again
        server.Dispose();
    }

    [Fact]
    public void SocketInADirectoryThatDoesNotExistStopsTheStartNamingTheDirectory()
    {
        using var dir = new TestDirectory();
        string missing = dir.File("no-such-dir");
        RegionOptions region = TestConfig.Region("a") with { SocketPath = Path.Combine(missing, "a.sock") };
        var server = new IvshmemServer(TestConfig.Daemon(dir, region), new CapturingLogger());

        var error = Assert.Throws<IOException>(server.Start);

        // Not bind's bare "No such file or directory": which directory, and that the daemon does not make it.
        Assert.Contains("region 'a'", error.Message);
        Assert.Contains($"directory {missing} does not exist", error.Message);
        Assert.Contains("creates only runtime_directory", error.Message);
        Assert.False(Directory.Exists(missing));
        server.Dispose();
    }

    [Fact]
    public void SocketWithALiveServerBehindItStopsTheStart()
    {
        using var dir = new TestDirectory();
        using var first = new RunningServer(TestConfig.Daemon(dir, TestConfig.Region("a")), dir);
        var second = new IvshmemServer(TestConfig.Daemon(dir, TestConfig.Region("a")), new CapturingLogger());

        Assert.Contains("another server is listening", Assert.Throws<IOException>(second.Start).Message);
        second.Dispose();
        using var peer = Peer.Host.HostPeer.Connect(dir.File("a.sock")); // the first one still serves
    }

    [Fact]
    public async Task ConfiguredModeIsAppliedAndACleanStopRemovesTheSocket()
    {
        using var dir = new TestDirectory();
        // Not the default (0660), so a socket left at the default mode fails this.
        var region = TestConfig.Region("a") with { SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        var server = new RunningServer(TestConfig.Daemon(dir, region), dir);
        Assert.Equal(region.SocketMode, File.GetUnixFileMode(dir.File("a.sock")));

        await server.Server.StopAsync(TimeSpan.FromSeconds(1));

        Assert.False(File.Exists(dir.File("a.sock")));
        server.Dispose();
    }

    [Fact]
    public void ConfiguredOwnerAndGroupAreLookedUpByNameAndApplied()
    {
        using var dir = new TestDirectory();
        // The user's own name and primary group: a change any user may make, root or not.
        var self = new Mono.Unix.UnixUserInfo(Mono.Unix.UnixUserInfo.GetRealUserId());
        var region = TestConfig.Region("a") with { SocketOwner = self.UserName, SocketGroup = new Mono.Unix.UnixGroupInfo(self.GroupId).GroupName };
        using var server = new RunningServer(TestConfig.Daemon(dir, region), dir);

        var socket = new Mono.Unix.UnixFileInfo(dir.File("a.sock"));
        Assert.Equal(self.UserId, socket.OwnerUserId);
        Assert.Equal(self.GroupId, socket.OwnerGroupId);
    }

    [Fact]
    public void UnknownSocketGroupStopsTheStartNamingTheGroup()
    {
        using var dir = new TestDirectory();
        var region = TestConfig.Region("a") with { SocketGroup = "ivshmemd-test-no-such-group" };
        var server = new IvshmemServer(TestConfig.Daemon(dir, region), new CapturingLogger());

        var error = Assert.Throws<IOException>(server.Start);

        Assert.Equal("region 'a': there is no group 'ivshmemd-test-no-such-group' on this system", error.Message);
        Assert.False(File.Exists(dir.File("a.sock")));
        server.Dispose();
    }
}
