using System.Diagnostics;
using System.Globalization;
using Ivshmem.Bench.Native;

namespace Ivshmem.Bench.Children;

/// <summary>
/// The ring's block-mode wake-up without the ring: each side rings the other's eventfd (write(2) of
/// 1) and sleeps in epoll_wait on its own, edge-triggered and never read, as the ring's
/// <c>EventFdWaiter</c> does; no message, no shared memory, no .NET waiter around the two syscalls.
/// What the ring's block-mode round trip cannot go below with eventfd doorbells, measured beside the
/// pipe in the same rounds (docs/ring.md, "The wake-up path"). Commands as <see cref="LatencyRole"/>,
/// except that the warm-up is WARMUP round trips (nothing here is compiled again while it runs) and
/// pong is told the count: there is no message to carry an end mark.
/// </summary>
internal sealed unsafe class DoorbellRole : IChildRole
{
    /// <summary>Its name in the latency table and in the child's arguments.</summary>
    public const string TransportName = "eventfd";

    private readonly bool _ping;
    private readonly int _ring;     // the other side's eventfd
    private readonly int _epoll;    // on this side's eventfd
    private readonly RoundTripSamples _samples = new();

    public DoorbellRole(ChildArgs a)
    {
        _ping = a.Role == "ping";
        _ring = a.Int("fd-out");
        _epoll = Posix.EpollEdgeTriggered(a.Int("fd-in"));
    }

    public void Handle(string[] command, TextWriter reply)
    {
        if (command[0] != "run") throw new ArgumentException($"unknown command '{string.Join(' ', command)}'");
        int n = int.Parse(command[1], CultureInfo.InvariantCulture);
        int warmup = int.Parse(command[2], CultureInfo.InvariantCulture);
        if (!_ping)
        {
            for (int i = 0; i < warmup; i++)
            {
                Sleep();
                Ring();
            }
            ThreadUsage from = ThreadUsage.Now();
            for (int i = 0; i < n; i++)
            {
                Sleep();
                Ring();
            }
            reply.WriteLine($"done 0 {(ThreadUsage.Now() - from).Format()}");
            return;
        }
        var samples = new long[n];
        for (int i = 0; i < warmup; i++) RoundTrip();
        ThreadUsage usageBefore = ThreadUsage.Now();
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < n; i++)
        {
            long start = Stopwatch.GetTimestamp();
            RoundTrip();
            samples[i] = Stopwatch.GetTimestamp() - start;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        reply.WriteLine(_samples.Add(samples, allocated, ThreadUsage.Now() - usageBefore));
    }

    private void RoundTrip()
    {
        Ring();
        Sleep();
    }

    private void Ring()
    {
        ulong one = 1;
        Posix.WriteAll(_ring, (byte*)&one, sizeof(ulong));
    }

    private void Sleep()
    {
        if (!Posix.EpollWaitOne(_epoll, 10_000)) throw new TimeoutException("no doorbell within 10 s");
    }

    public void Dispose() => Posix.Close(_epoll);
}
