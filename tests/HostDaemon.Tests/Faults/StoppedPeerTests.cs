using System.Diagnostics;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Faults;

/// <summary>
/// Fault: a peer stopped (SIGSTOP) while others join and leave. The issue asks for a minute; the test
/// keeps it stopped 5 s, which is as long as matters: what fills its socket is the number of
/// announcements, not the time, and the churn below sends it several hundred (more than a UNIX
/// socket's default send buffer holds). The daemon keeps no queue per peer: it sends until the
/// socket is full and then only remembers, in its ledger, what each peer has been told, so a stopped
/// peer costs nothing and is never disconnected for falling behind.
/// </summary>
public sealed class StoppedPeerTests
{
    private static readonly TimeSpan StoppedFor = TimeSpan.FromSeconds(5);
    private const int Churn = 150; // joins and leaves while it is stopped: 3 announcements each

    [Fact]
    public void StoppedPeerHoldsUpNobodyAndWhenContinuedCatchesUpInOrderWithoutBeingDropped()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("r", maxPeers: 4));
        string socket = service.SocketOf("r");
        int fdsBefore = FaultDaemon.WarmedUpFdCount(service, "r");

        using (HostPeer observer = HostPeer.Connect(socket))
        using (ChildPeer stopped = ChildPeer.Join(socket, name: "stopped", events: true, diagnostics: () => service.Process.Log))
        {
            Assert.True(observer.WaitForPeer(stopped.Id, Eventually.DefaultTimeout));
            Eventually.True(() => stopped.Events.Contains($"present {observer.OwnId}"), $"the child peer knows the observer (events: {string.Join(", ", stopped.Events)})");
            var clock = Stopwatch.StartNew();
            stopped.Stop();

            var churned = new List<int>();
            TimeSpan slowest = TimeSpan.Zero;
            for (int i = 0; i < Churn; i++)
            {
                var joining = Stopwatch.StartNew();
                using HostPeer passer = HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false });
                slowest = joining.Elapsed > slowest ? joining.Elapsed : slowest;
                churned.Add(passer.OwnId);
                Assert.True(observer.WaitForPeer(passer.OwnId, Eventually.DefaultTimeout), $"the observer heard of {passer.OwnId} joining");
            }
            foreach (int id in churned)
                Assert.True(observer.WaitForDeparture(id, Eventually.DefaultTimeout), $"the observer heard of {id} leaving");
            // A blocked daemon would not complete a single handshake; the bound is generous for a loaded machine.
            Assert.True(slowest < TimeSpan.FromSeconds(8), $"every join completed promptly while a peer was stopped (slowest {slowest})");
            if (clock.Elapsed < StoppedFor) Thread.Sleep(StoppedFor - clock.Elapsed);
            Assert.True(stopped.Events.Count == 1, $"a stopped peer reads nothing (its events: {string.Join(", ", stopped.Events)})");

            stopped.Continue();

            // It catches up: what was queued in its socket in order, then what the ledger says it has
            // not been told (a peer that came and went while its socket was full is never mentioned).
            // A peer that joins now is announced after all of that.
            using HostPeer late = HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false });
            Eventually.True(() => stopped.Events.Contains($"joined {late.OwnId}"), "the continued peer hears of a new peer at once");
            late.Dispose();
            Eventually.True(() => stopped.Events.Contains($"left {late.OwnId}"), "and of it leaving");

            List<string> events = [.. stopped.Events];
            AssertInOrder(events.Skip(1).ToList(), observer.OwnId);
            Assert.DoesNotContain("server-gone", events);
            Assert.True(observer.WaitForPeer(stopped.Id, TimeSpan.Zero), "the observer still counts the stopped peer");
            Assert.DoesNotContain("dropped", service.Process.Log); // 2002: nobody was dropped
            Assert.Empty(observer.Problems);
        }
        FaultDaemon.WaitForPeerCount(service, 0);
        FaultDaemon.WaitForFdCount(service, fdsBefore);
    }

    /// <summary>Every announcement is about a peer that came after the ones before it (ids only grow),
    /// a peer is never announced as joining after it was announced as leaving, and once everything is
    /// told, only the observer is left in the peer's view.</summary>
    private static void AssertInOrder(IReadOnlyList<string> events, int observer)
    {
        var present = new HashSet<int> { observer };
        int highest = observer;
        foreach (string e in events)
        {
            string[] f = e.Split(' ');
            int id = int.Parse(f[1]);
            if (f[0] == "joined")
            {
                Assert.True(id > highest, $"'{e}' comes after an announcement of peer {highest} (events: {string.Join(", ", events)})");
                highest = id;
                present.Add(id);
            }
            else
            {
                Assert.Equal("left", f[0]);
                Assert.True(id >= highest || present.Contains(id), $"'{e}' is about a peer announced in order");
                highest = Math.Max(highest, id);
                present.Remove(id);
            }
        }
        Assert.Equal([observer], present);
    }
}
