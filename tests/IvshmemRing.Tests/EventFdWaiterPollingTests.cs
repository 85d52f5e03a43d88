using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>A synchronous waiter polls the eventfds itself; the listener thread exists only for
/// asynchronous waits. Nobody's wake-up may be lost or stolen either way.</summary>
public class EventFdWaiterPollingTests
{
    [Fact]
    public async Task EverySynchronousWaiterWakesOnOneRingWithoutAListener()
    {
        int fd = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([fd], ownsFds: true);
        long token = waiter.Prepare();
        Task<bool>[] sync = [.. Enumerable.Range(0, 3).Select(_ => Task.Run(() => waiter.Wait(token, 10_000)))];
        await Task.Delay(50);
        new EventFdSignal(fd).Ring();
        Assert.All(await Task.WhenAll(sync), Assert.True);
        Assert.Equal(token + 1, waiter.Count);
    }

    [Fact]
    public void ARingThatNobodyWaitedForEndsTheNextWaitAtOnce()
    {
        int fd = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([fd], ownsFds: true);
        new EventFdSignal(fd).Ring();
        long token = waiter.Prepare();
        // A spurious wake-up, which the contract allows: the ring came before Prepare.
        Assert.True(waiter.Wait(token, 10_000));
        Assert.False(waiter.Wait(waiter.Prepare(), 20));
    }

    [Fact]
    public async Task APollingWaiterStillWakesWhenAnAsynchronousWaitStartsTheListenerMeanwhile()
    {
        int fd = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([fd], ownsFds: true);
        for (int round = 0; round < 200; round++)
        {
            long token = waiter.Prepare();
            Task<bool> sync = Task.Run(() => waiter.Wait(token, 10_000));
            Task<bool> async = waiter.WaitAsync(token, 10_000, default).AsTask();
            if (round % 2 == 0) await Task.Yield();
            new EventFdSignal(fd).Ring();
            Assert.True(await sync, $"round {round}: the synchronous waiter timed out");
            Assert.True(await async, $"round {round}: the asynchronous waiter timed out");
        }
    }

    [Fact]
    public async Task WaitsAfterDisposeFailAndDisposeReturnsWhileAWaiterPolls()
    {
        int fd = Interop.EventFdCreate();
        var waiter = new EventFdWaiter([fd], ownsFds: true);
        Task<bool> polling = Task.Run(() => waiter.Wait(waiter.Prepare(), -1));
        await Task.Delay(50);
        waiter.Dispose();
        await Assert.ThrowsAsync<IOException>(() => polling);
        Assert.Throws<IOException>(() => waiter.Wait(waiter.Prepare(), 10));
    }

    [Fact]
    public async Task AWaiterTakesOverWhenThePollingOneTimesOut()
    {
        int fd = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([fd], ownsFds: true);
        long token = waiter.Prepare();
        Task<bool> brief = Task.Run(() => waiter.Wait(token, 30));
        await Task.Delay(10); // the brief one sleeps in epoll_wait; the patient one waits on the monitor
        Task<bool> patient = Task.Run(() => waiter.Wait(token, 10_000));
        Assert.False(await brief);
        await Task.Delay(50);
        new EventFdSignal(fd).Ring();
        Assert.True(await patient, "the patient waiter was not woken: nobody polled after the brief one left");
    }

    [Fact]
    public void NoWakeUpIsLostWhileSeveralSynchronousWaitersHandTheEpollInstanceOver()
    {
        int fd = Interop.EventFdCreate();
        using var waiter = new EventFdWaiter([fd], ownsFds: true);
        var signal = new EventFdSignal(fd);
        const int Threads = 3, Rounds = 2000;
        using var prepared = new Barrier(Threads + 1);
        int lost = 0;
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            for (int round = 0; round < Rounds; round++)
            {
                long token = waiter.Prepare();
                prepared.SignalAndWait();
                // Some rounds wait with a short timeout first, so the epoll instance changes hands.
                if (round % 7 == t && !waiter.Wait(token, 0) && waiter.Wait(token, 1)) continue;
                if (!waiter.Wait(token, 10_000)) Interlocked.Increment(ref lost);
            }
        })).ToArray();
        foreach (Thread t in threads) t.Start();
        for (int round = 0; round < Rounds; round++)
        {
            prepared.SignalAndWait();
            Thread.SpinWait(round % 50 * 20);
            signal.Ring();
        }
        foreach (Thread t in threads) t.Join();
        Assert.Equal(0, lost);
    }
}
