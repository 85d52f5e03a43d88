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
}
