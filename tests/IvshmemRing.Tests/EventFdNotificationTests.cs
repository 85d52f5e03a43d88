using System.Diagnostics;
using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

public class EventFdNotificationTests
{
    [Fact]
    public void WaitReturnsAtOnceForARingAfterPrepareAndTimesOutWithoutOne()
    {
        int fd = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([fd], ownsFds: true);
        Assert.False(waiter.Wait(waiter.Prepare(), 50));
        long token = waiter.Prepare();
        new EventFdSignal(fd).Ring();
        Assert.True(waiter.Wait(token, 10_000));
        Assert.False(waiter.Wait(waiter.Prepare(), 0));
    }

    [Fact]
    public async Task EveryWaiterSyncAndAsyncWakesOnOneRing()
    {
        int fd = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([fd], ownsFds: true);
        long token = waiter.Prepare();
        var sync = Enumerable.Range(0, 3).Select(_ => Task.Run(() => waiter.Wait(token, 10_000))).ToArray();
        var async = Enumerable.Range(0, 3).Select(_ => waiter.WaitAsync(token, 10_000, default).AsTask()).ToArray();
        await Task.Delay(50);
        new EventFdSignal(fd).Ring();
        Assert.All(await Task.WhenAll(sync.Concat(async)), Assert.True);
    }

    [Fact]
    public async Task AsyncWaitsEndOnCancellationAndTimeout()
    {
        int fd = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([fd], ownsFds: true);
        Assert.False(await waiter.WaitAsync(waiter.Prepare(), 20, default));
        using var cts = new CancellationTokenSource(20);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiter.WaitAsync(waiter.Prepare(), -1, cts.Token));
    }

    [Fact]
    public void AnyOfSeveralFdsWakesTheWaiter()
    {
        int control = Interop.EventFdCreate(), data = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([control, data], ownsFds: true);
        long token = waiter.Prepare();
        new EventFdSignal(control).Ring();
        Assert.True(waiter.Wait(token, 10_000));
        token = waiter.Prepare();
        new EventFdSignal(data).Ring();
        Assert.True(waiter.Wait(token, 10_000));
    }

    [Fact]
    public void DisposingWakesBlockedWaitersWithAnError()
    {
        int fd = Interop.EventFdCreate();
        var waiter = new EventFdWaiter([fd], ownsFds: true);
        var blocked = Task.Run(() => waiter.Wait(waiter.Prepare(), -1));
        Thread.Sleep(50);
        waiter.Dispose();
        Assert.Throws<AggregateException>(() => blocked.Wait()).InnerExceptions.OfType<IOException>().Single();
    }

    /// <summary>Sleeps end only at the doorbell or the 10 s timeout: with the default peer-check
    /// interval (100 ms) a receiver whose doorbell never rang would still wake and find the message.</summary>
    private static RingChannelOptions DoorbellOnly(WaitMode mode) =>
        new() { WaitMode = mode, Timeout = TimeSpan.FromSeconds(10), PeerCheckInterval = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task ABlockedReceiverWakesWhenThePeerSends()
    {
        using var region = new CrossProcessRegion(1L << 20);
        var options = DoorbellOnly(WaitMode.Block);
        using var waiterB = new EventFdWaiter([region.EventB]);
        RingChannel a = region.OpenChannel(options);
        RingChannel b = RingChannel.Open(region.Region, 1, 0, new EventFdSignal(region.EventA), waiterB, options);
        long sentAt = 0;
        var receiver = Task.Run(() =>
        {
            int n = b.Receive(new byte[64], out _);
            return (n, Stopwatch.GetElapsedTime(Volatile.Read(ref sentAt)));
        });
        Thread.Sleep(200); // the receiver is asleep on its eventfd by now
        Volatile.Write(ref sentAt, Stopwatch.GetTimestamp());
        a.Send([1, 2, 3]);
        var (length, latency) = await receiver;
        Assert.Equal(3, length);
        Assert.True(latency < TimeSpan.FromSeconds(5), $"woke {latency.TotalSeconds:0.0} s after the send: the doorbell was not rung");
        Console.WriteLine($"wake-up after send: {latency.TotalMicroseconds:0} us");
    }

    /// <summary>A lost wake-up would leave the consumer asleep until the channel's 10 s timeout.</summary>
    [Theory]
    [InlineData(WaitMode.Block)]
    [InlineData(WaitMode.SpinThenBlock)]
    public async Task NoWakeUpIsLostUnderManySmallMessagesWithTheConsumerSleepingBetweenThem(WaitMode mode)
    {
        using var region = new CrossProcessRegion(1L << 20);
        var options = DoorbellOnly(mode) with { SpinDuration = TimeSpan.FromMicroseconds(2) };
        using var waiterB = new EventFdWaiter([region.EventB]);
        RingChannel a = region.OpenChannel(options);
        RingChannel b = RingChannel.Open(region.Region, 1, 0, new EventFdSignal(region.EventA), waiterB, options);
        const int messages = 20_000;
        var consumer = Task.Run(() =>
        {
            byte[] buffer = new byte[64];
            long sum = 0;
            TimeSpan longest = TimeSpan.Zero;
            for (int i = 0; i < messages; i++)
            {
                long start = Stopwatch.GetTimestamp();
                b.Receive(buffer, out _);
                longest = TimeSpan.FromTicks(Math.Max(longest.Ticks, Stopwatch.GetElapsedTime(start).Ticks));
                sum += BitConverter.ToInt32(buffer);
            }
            return (sum, longest);
        });
        var random = new Random(3);
        long expected = 0;
        for (int i = 0; i < messages; i++)
        {
            a.Send(BitConverter.GetBytes(i));
            expected += i;
            // Vary the gap so that sends land before, during and after the consumer's announcement.
            int gap = random.Next(4);
            if (gap == 1) Thread.SpinWait(random.Next(1, 2000));
            else if (gap == 2) Thread.Yield();
        }
        var (sum, longest) = await consumer;
        Assert.Equal(expected, sum);
        Assert.True(longest < TimeSpan.FromSeconds(5), $"one receive slept {longest.TotalSeconds:0.0} s: a wake-up was lost");
    }
}
