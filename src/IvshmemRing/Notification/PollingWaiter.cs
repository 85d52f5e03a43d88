namespace Ivshmem.Ring;

/// <summary>
/// For sides that get no interrupts (a guest with sysfs-mapped BARs) or do not want to sleep: waiting
/// yields the CPU briefly and returns, and the caller polls again. Pair it with a null
/// <see cref="IRingSignal"/> on the other side, or with one; rings are then simply not needed.
/// </summary>
public sealed class PollingWaiter : IRingWaiter
{
    public static PollingWaiter Instance { get; } = new();

    public long Prepare() => 0;

    public bool Wait(long token, int timeoutMs)
    {
        // Sleep(0) gives the core to another runnable thread; a pure spin would starve the peer
        // when both share one core.
        Thread.Sleep(0);
        return true;
    }

    public ValueTask<bool> WaitAsync(long token, int timeoutMs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<bool>(YieldThenTrue());
    }

    private static async Task<bool> YieldThenTrue()
    {
        await Task.Yield();
        return true;
    }
}
