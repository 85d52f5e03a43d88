using System.Diagnostics;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Faults;

/// <summary>
/// Fault: the daemon at its fd limit. The daemon runs as its own process and its RLIMIT_NOFILE is
/// lowered while it runs (prlimit --pid; the .NET runtime raises the soft limit to the hard one at
/// start-up, so a limit set before exec would not hold). With room for exactly two more fds, a new
/// peer's connection is accepted but its second eventfd cannot be created: it is refused (refusal
/// code 1) and the reason, EMFILE, is logged (event 3002); nobody else notices, and once a peer
/// has left, a new one is admitted again.
/// </summary>
public sealed class FdLimitTests
{
    [Fact]
    public void AtItsFdLimitTheDaemonRefusesANewPeerWithTheReasonAndAdmitsAgainOnceAPeerHasLeft()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("r", maxPeers: 8));
        string socket = service.SocketOf("r");
        int fdsBefore = FaultDaemon.WarmedUpFdCount(service, "r");

        using (HostPeer resident = HostPeer.Connect(socket))
        {
            HostPeer leaving = HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false });
            Assert.True(resident.WaitForPeer(leaving.OwnId, Eventually.DefaultTimeout));
            FaultDaemon.WaitForPeerCount(service, 2);

            int limit = LimitLeavingRoomFor(service.Process.Pid, 2); // the accepted socket and one eventfd, not the second
            SetFdLimit(service.Process.Pid, limit);

            var refused = Assert.Throws<ServerRefusedException>(() => HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false }));
            Assert.Equal(1, refused.Code);
            Eventually.True(() => service.Process.Log.Contains("setting up a new peer failed:", StringComparison.Ordinal),
                $"the refusal is logged (log:\n{service.Process.Log})");
            string line = service.Process.Log.Split('\n').SkipWhile(l => !l.Contains("setting up a new peer failed:", StringComparison.Ordinal)).First();
            Assert.Matches("EMFILE|Too many open files", line);
            Assert.False(service.Process.HasExited, "the daemon keeps running");
            Assert.Empty(resident.Problems);
            Assert.Equal([leaving.OwnId], resident.PeerIds);

            leaving.Dispose();
            Assert.True(resident.WaitForDeparture(leaving.OwnId, Eventually.DefaultTimeout), "the resident hears of the departure");
            using (HostPeer again = HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false }))
                Assert.True(resident.WaitForPeer(again.OwnId, Eventually.DefaultTimeout), "a new peer is admitted once fds are free");
            Assert.Empty(resident.Problems);
        }
        FaultDaemon.WaitForPeerCount(service, 0);
        FaultDaemon.WaitForFdCount(service, fdsBefore);
    }

    /// <summary>RLIMIT_NOFILE bounds fd numbers, not their count: the limit below which exactly
    /// <paramref name="room"/> numbers are free (the lowest free number is where the next fd goes).</summary>
    private static int LimitLeavingRoomFor(int pid, int room)
    {
        var open = Directory.GetFiles($"/proc/{pid}/fd").Select(f => int.Parse(Path.GetFileName(f))).ToHashSet();
        int free = 0;
        for (int n = 0; ; n++)
        {
            if (free == room && !open.Contains(n)) return n;
            if (!open.Contains(n)) free++;
        }
    }

    private static void SetFdLimit(int pid, int limit)
    {
        var start = new ProcessStartInfo("prlimit") { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "--pid", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), $"--nofile={limit}:{limit}" }) start.ArgumentList.Add(a);
        using Process prlimit = Process.Start(start)!;
        Assert.True(prlimit.WaitForExit(10_000), "prlimit finished");
        Assert.True(prlimit.ExitCode == 0, $"prlimit --nofile={limit}: {prlimit.StandardError.ReadToEnd()}");
    }
}
