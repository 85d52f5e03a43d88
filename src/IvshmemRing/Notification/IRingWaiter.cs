namespace Ivshmem.Ring;

/// <summary>
/// Where this side sleeps until its doorbell rings: an eventfd on a host, an MSI-X vector delivered to
/// an eventfd through VFIO in a guest, or nothing at all when polling.
/// <para>An event count: take a token with <see cref="Prepare"/> before the last check for work; a ring
/// after that makes <see cref="Wait"/> return at once, so no wake-up is lost between check and sleep.
/// Wake-ups may be spurious: callers re-check their condition.</para>
/// </summary>
public interface IRingWaiter
{
    long Prepare();

    /// <summary>Blocks until a ring after <paramref name="token"/> was taken, or the timeout passes
    /// (false). <paramref name="timeoutMs"/> -1 waits forever.</summary>
    bool Wait(long token, int timeoutMs);

    /// <summary>As <see cref="Wait"/>, without holding a thread.</summary>
    ValueTask<bool> WaitAsync(long token, int timeoutMs, CancellationToken cancellationToken);
}
