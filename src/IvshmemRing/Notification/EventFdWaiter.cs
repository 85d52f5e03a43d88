using Tmds.Linux;

namespace Ivshmem.Ring;

/// <summary>
/// Waits on one or more eventfds (a host peer's own vectors, or the eventfds VFIO delivers MSI-X
/// vectors to). A listener thread blocks in poll(2), drains whichever fd fired, bumps an event count
/// and wakes every waiter, synchronous or asynchronous; so any number of threads (a reader waiting
/// for data, a writer waiting for space) share the same vectors without stealing each other's
/// wake-ups, which reading the eventfd directly would do.
/// </summary>
public sealed class EventFdWaiter : IRingWaiter, IDisposable
{
    private readonly int[] _fds;
    private readonly bool _ownsFds;
    private readonly int _stopFd;
    private readonly Thread _listener;
    private readonly object _gate = new();
    private readonly List<AsyncWaiter> _asyncWaiters = [];
    private long _count;
    private volatile Exception? _failure;
    private bool _disposed;

    /// <param name="fds">Non-blocking eventfds to wait on (more than one: the control and data vectors).</param>
    /// <param name="ownsFds">Close them on dispose.</param>
    public EventFdWaiter(IReadOnlyList<int> fds, bool ownsFds = false)
    {
        if (fds.Count == 0) throw new ArgumentException("at least one eventfd is needed", nameof(fds));
        _fds = [.. fds];
        _ownsFds = ownsFds;
        _stopFd = Interop.EventFdCreate(nonBlocking: true);
        _listener = new Thread(Listen) { IsBackground = true, Name = $"eventfd waiter ({string.Join(",", _fds)})" };
        _listener.Start();
    }

    /// <summary>How many times any of the fds fired (after coalescing).</summary>
    public long Count => Volatile.Read(ref _count);

    public long Prepare() => Volatile.Read(ref _count);

    public bool Wait(long token, int timeoutMs)
    {
        if (Volatile.Read(ref _count) != token) return true;
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        lock (_gate)
        {
            while (_count == token)
            {
                ThrowIfBroken();
                long left = deadline - Environment.TickCount64;
                if (left <= 0) return false;
                Monitor.Wait(_gate, (int)Math.Min(left, int.MaxValue));
            }
            return true;
        }
    }

    public ValueTask<bool> WaitAsync(long token, int timeoutMs, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _count) != token) return new ValueTask<bool>(true);
        AsyncWaiter waiter;
        lock (_gate)
        {
            if (_count != token) return new ValueTask<bool>(true);
            ThrowIfBroken();
            waiter = new AsyncWaiter(this, timeoutMs, cancellationToken);
            _asyncWaiters.Add(waiter);
        }
        return new ValueTask<bool>(waiter.Task);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        Interop.EventFdSignal(_stopFd);
        _listener.Join();
        Interop.Close(_stopFd);
        if (_ownsFds) foreach (int fd in _fds) Interop.Close(fd);
        Fail(new ObjectDisposedException(nameof(EventFdWaiter)));
    }

    private void Listen()
    {
        Span<pollfd> polls = stackalloc pollfd[_fds.Length + 1];
        try
        {
            while (true)
            {
                for (int i = 0; i < _fds.Length; i++) polls[i].fd = _fds[i];
                polls[_fds.Length].fd = _stopFd;
                Interop.PollIn(polls, -1);
                if (polls[_fds.Length].revents != 0) return;
                bool fired = false;
                for (int i = 0; i < _fds.Length; i++)
                {
                    short revents = polls[i].revents;
                    if ((revents & (Interop.POLLERR_ | Interop.POLLNVAL_)) != 0)
                        throw new IOException($"eventfd {_fds[i]} failed while waiting (poll revents 0x{revents:X}); was it closed?");
                    if ((revents & Interop.POLLIN_) != 0 && Interop.EventFdDrain(_fds[i]) != 0) fired = true;
                }
                if (fired) Fire();
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    private void Fire()
    {
        AsyncWaiter[]? toComplete = null;
        lock (_gate)
        {
            _count++;
            Monitor.PulseAll(_gate);
            if (_asyncWaiters.Count > 0)
            {
                toComplete = [.. _asyncWaiters];
                _asyncWaiters.Clear();
            }
        }
        // Continuations run outside the lock (they may call back into this waiter).
        if (toComplete is not null) foreach (AsyncWaiter w in toComplete) w.Complete(true);
    }

    private void Fail(Exception e)
    {
        AsyncWaiter[] toFail;
        lock (_gate)
        {
            _failure ??= e;
            Monitor.PulseAll(_gate);
            toFail = [.. _asyncWaiters];
            _asyncWaiters.Clear();
        }
        foreach (AsyncWaiter w in toFail) w.Fail(_failure);
    }

    private void ThrowIfBroken()
    {
        if (_failure is { } f) throw new IOException($"the doorbell listener stopped: {f.Message}", f);
    }

    private void Remove(AsyncWaiter waiter)
    {
        lock (_gate) _asyncWaiters.Remove(waiter);
    }

    /// <summary>One pending WaitAsync: completed by a ring, a timeout, or cancellation, whichever first.</summary>
    private sealed class AsyncWaiter
    {
        private readonly TaskCompletionSource<bool> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly EventFdWaiter _owner;
        private readonly CancellationTokenRegistration _cancellation;
        private readonly Timer? _timer;

        public AsyncWaiter(EventFdWaiter owner, int timeoutMs, CancellationToken ct)
        {
            _owner = owner;
            if (ct.CanBeCanceled)
                _cancellation = ct.UnsafeRegister(static (s, token) => ((AsyncWaiter)s!).Cancel(token), this);
            if (timeoutMs >= 0)
                _timer = new Timer(static s => ((AsyncWaiter)s!).TimedOut(), this, timeoutMs, Timeout.Infinite);
        }

        public Task<bool> Task => _tcs.Task;

        public void Complete(bool result)
        {
            if (_tcs.TrySetResult(result)) Cleanup();
        }

        public void Fail(Exception e)
        {
            if (_tcs.TrySetException(new IOException($"the doorbell listener stopped: {e.Message}", e))) Cleanup();
        }

        private void Cancel(CancellationToken token)
        {
            _owner.Remove(this);
            if (_tcs.TrySetCanceled(token)) Cleanup();
        }

        private void TimedOut()
        {
            _owner.Remove(this);
            Complete(false);
        }

        private void Cleanup()
        {
            _timer?.Dispose();
            _cancellation.Dispose();
        }
    }
}
