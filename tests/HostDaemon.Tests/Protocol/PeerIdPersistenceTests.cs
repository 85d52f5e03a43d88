using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Protocol;

/// <summary>
/// Issue 10, finding 2: a region's ids are never handed out twice by this daemon, also across a stop
/// and start without the fd store and a crash. The next-id counter is kept per region in the state
/// directory, reserved in blocks and written before any id of a block is handed out.
/// </summary>
public sealed class PeerIdPersistenceTests
{
    [Fact]
    public void IdsContinueAfterACleanStopAndStartWithoutTheFdStore()
    {
        using var dir = new TestDirectory();
        var region = TestConfig.Region("a");
        var ids = new List<int>();
        using (var first = new RunningServer(TestConfig.Daemon(dir, region), dir))
            for (int i = 0; i < 3; i++) ids.Add(first.Connect("a").OwnId);

        using var second = new RunningServer(TestConfig.Daemon(dir, region), dir);
        HostPeer next = second.Connect("a");

        Assert.DoesNotContain(next.OwnId, ids);
        Assert.True(next.OwnId > ids.Max(), $"id {next.OwnId} after {string.Join(",", ids)}");
    }

    [Fact]
    public async Task IdsContinueAfterACrashWithoutTheFdStore()
    {
        using var dir = new TestDirectory();
        var region = TestConfig.Region("a");
        var first = new RunningServer(TestConfig.Daemon(dir, region), dir);
        var ids = new List<int>();
        for (int i = 0; i < 70; i++) // more than one reserved block
        {
            HostPeer p = first.Connect("a", track: false);
            ids.Add(p.OwnId);
            p.Dispose();
        }
        await first.Server.AbandonAsync(); // as if killed: nothing written at the end

        using var second = new RunningServer(TestConfig.Daemon(dir, region), dir);
        HostPeer next = second.Connect("a");

        Assert.True(next.OwnId > ids.Max(), $"id {next.OwnId} after ids up to {ids.Max()}");
        first.Dispose();
    }

    [Fact]
    public void TheCounterIsWrittenOncePerBlockOfIdsNotOncePerJoin()
    {
        using var dir = new TestDirectory();
        var region = TestConfig.Region("a");
        using var server = new RunningServer(TestConfig.Daemon(dir, region), dir);
        string file = Path.Combine(dir.Path, "state", "a.next-peer-id"); // state directory: <runtime_directory>/state by default

        server.Connect("a", track: false).Dispose();
        string afterFirst = File.ReadAllText(file);
        DateTime written = File.GetLastWriteTimeUtc(file);
        for (int i = 0; i < 10; i++) server.Connect("a", track: false).Dispose();

        Assert.Equal(afterFirst, File.ReadAllText(file));
        Assert.Equal(written, File.GetLastWriteTimeUtc(file));
        Assert.True(long.Parse(afterFirst.Trim(), System.Globalization.CultureInfo.InvariantCulture) >= 11, afterFirst);
    }
}
