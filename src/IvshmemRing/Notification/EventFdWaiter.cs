using Tmds.Linux;

namespace Ivshmem.Ring;

/// <summary>
/// Waits on one or more eventfds (a host peer's own vectors, or the eventfds VFIO delivers MSI-X
/// vectors to). Whoever finds an fd fired bumps an event count and wakes every waiter, synchronous or
/// asynchronous; so any number of threads (a reader waiting for data, a writer waiting for space)
/// share the same vectors without stealing each other's wake-ups, which reading the eventfd directly
/// would do.
/// <para>A synchronous waiter sleeps in epoll_wait(2) itself when no other thread does: the doorbell
/// then wakes the very thread that waits for it, one wake-up instead of two. Further synchronous
/// waiters sleep on a monitor until the sleeping one counts an event or leaves (one of them then takes
/// over). Asynchronous waits cannot hold a thread, so the first one starts a listener thread that
/// waits from then on, and wakes everyone the same way.</para>
/// <para>The eventfds are watched edge-triggered (EPOLLET) and never read: every write to an eventfd
/// is a new edge, so one doorbell costs the sleeper one syscall, epoll_wait, where poll(2) over the fds
/// and a read(2) to drain cost two and set up a wait on every fd each time (docs/ring.md, "The
/// wake-up path"). The synchronous sleeper and the listener each have their own epoll instance, so
/// each sees every edge: neither can take a ring the other was meant to count.</para>
/// <para>A ring that nobody waits for stays queued in the epoll instances, and the next wait returns at
/// once (a spurious wake-up, which callers allow for: they re-check their condition).</para>
/// <para>The usual case, one thread waiting, takes no lock: the sleeper claims the epoll instance with a
/// compare-and-swap and counts the event with an interlocked increment, and only takes the monitor
/// when another thread sleeps on it. Each side stores its own mark (the count, the claim; the sleeper
/// count), fences, then reads the other's, so at least one of them sees the other and none misses a
/// wake-up. The monitor cost more than the rest of the ring's wake-up path together: taken three times
/// and pulsed twice per wake-up, it was a quarter of the ring's block-mode round trip beyond the
/// doorbell's own (docs/ring.md, "The wake-up path").</para>
/// </summary>
public sealed class EventFdWaiter : IRingWaiter, IDisposable
{
    private readonly int[] _fds;
    private readonly bool _ownsFds;
    private readonly int _stopFd;   // rung once, on dispose: ends every epoll_wait (level-triggered)
    private readonly int _pollerEpoll;   // the synchronous sleeper's instance
    private readonly object _gate = new();
    private readonly List<AsyncWaiter> _asyncWaiters = [];
    private Thread? _listener;      // started by the first asynchronous wait
    private int _listenerEpoll = -1;
    private int _polling;           // 1 while a synchronous waiter is in epoll_wait on the fds (claimed by CAS)
    private int _sleepers;          // threads in, or about to enter, Monitor.Wait on _gate
    private long _count;
    private volatile Exception? _failure;
    private bool _disposed;

    /// <param name="fds">Eventfds to wait on (more than one: the control and data vectors).</param>
    /// <param name="ownsFds">Close them on dispose.</param>
    public EventFdWaiter(IReadOnlyList<int> fds, bool ownsFds = false)
    {
        if (fds.Count == 0) throw new ArgumentException("at least one eventfd is needed", nameof(fds));
        _fds = [.. fds];
        _ownsFds = ownsFds;
        _stopFd = Interop.EventFdCreate();
        try
        {
            _pollerEpoll = CreateEpoll();
        }
        catch
        {
            Interop.Close(_stopFd);
            throw;
        }
    }

    /// <summary>How many times waiting found any of the fds fired (after coalescing; a ring seen by
    /// both a synchronous waiter and the listener may count twice).</summary>
    public long Count => Volatile.Read(ref _count);

    public long Prepare() => Volatile.Read(ref _count);

    public bool Wait(long token, int timeoutMs)
    {
        if (Volatile.Read(ref _count) != token) return true;
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            ThrowIfBroken();
            int left = -1;
            if (timeoutMs >= 0)
            {
                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0) return false;
                left = (int)Math.Min(remaining, int.MaxValue);
            }
            if (Volatile.Read(ref _listener) is null && Interlocked.CompareExchange(ref _polling, 1, 0) == 0)
            {
                try
                {
                    // Re-checked once the claim is ours: the previous sleeper may have counted a ring
                    // since, and Dispose may have begun (it fails the waiter, then waits for the claim
                    // to be given back before it closes the epoll instance).
                    if (Volatile.Read(ref _count) == token && _failure is null && WaitOnce(_pollerEpoll, left)) Fire();
                }
                catch (Exception e)
                {
                    Fail(e);
                }
                finally
                {
                    // Another synchronous waiter takes over, or Dispose goes on.
                    Volatile.Write(ref _polling, 0);
                    Interlocked.MemoryBarrier();
                    if (Volatile.Read(ref _sleepers) != 0) PulseAll();
                }
                if (Volatile.Read(ref _count) != token) return true;
                continue;
            }
            lock (_gate)
            {
                Interlocked.Increment(ref _sleepers);
                try
                {
                    if (Volatile.Read(ref _count) != token) return true;
                    if (_failure is not null) continue;
                    // The sleeper left before this thread could see it: take over.
                    if (Volatile.Read(ref _polling) == 0 && _listener is null) continue;
                    Monitor.Wait(_gate, left);
                }
                finally
                {
                    Interlocked.Decrement(ref _sleepers);
                }
            }
        }
    }

    public ValueTask<bool> WaitAsync(long token, int timeoutMs, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _count) != token) return new ValueTask<bool>(true);
        AsyncWaiter waiter;
        lock (_gate)
        {
            if (Volatile.Read(ref _count) != token) return new ValueTask<bool>(true);
            ThrowIfBroken();
            if (_listener is null)
            {
                // Registered before the thread starts, so a ring from now on is an edge it will see.
                _listenerEpoll = CreateEpoll();
                _listener = new Thread(Listen) { IsBackground = true, Name = $"eventfd waiter ({string.Join(",", _fds)})" };
                _listener.Start();
            }
            waiter = new AsyncWaiter(this, timeoutMs, cancellationToken);
            _asyncWaiters.Add(waiter);
        }
        return new ValueTask<bool>(waiter.Task);
    }

    public void Dispose()
    {
        Thread? listener;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            listener = _listener;
        }
        // Waiters see the error from now on; the stop fd ends the waits, then nothing uses the fds.
        Fail(new ObjectDisposedException(nameof(EventFdWaiter)));
        Interop.EventFdSignal(_stopFd);
        listener?.Join();
        lock (_gate)
        {
            Interlocked.Increment(ref _sleepers);
            while (Volatile.Read(ref _polling) != 0) Monitor.Wait(_gate);
            Interlocked.Decrement(ref _sleepers);
        }
        Interop.Close(_pollerEpoll);
        Interop.Close(_listenerEpoll);
        Interop.Close(_stopFd);
        if (_ownsFds) foreach (int fd in _fds) Interop.Close(fd);
    }

    /// <summary>An epoll instance watching every fd edge-triggered and the stop fd level-triggered
    /// (the token is the index into <see cref="_fds"/>; the stop fd's is -1).</summary>
    private int CreateEpoll()
    {
        int epoll = Interop.EpollCreate();
        try
        {
            for (int i = 0; i < _fds.Length; i++) Interop.EpollAdd(epoll, _fds[i], Interop.EPOLLIN_ | Interop.EPOLLET_, (ulong)i);
            Interop.EpollAdd(epoll, _stopFd, Interop.EPOLLIN_, ulong.MaxValue);
            return epoll;
        }
        catch
        {
            Interop.Close(epoll);
            throw;
        }
    }

    /// <summary>One epoll_wait: true when any of the fds was rung; false on timeout or stop.</summary>
    private unsafe bool WaitOnce(int epoll, int timeoutMs)
    {
        int capacity = _fds.Length + 1;
        epoll_event* events = stackalloc epoll_event[capacity];
        int n = Interop.EpollWait(epoll, events, capacity, timeoutMs);
        bool fired = false;
        for (int i = 0; i < n; i++)
        {
            ulong token = events[i].data.u64;
            if (token == ulong.MaxValue) return false;
            uint what = (uint)events[i].events;
            // An eventfd reports an error only when it is broken; a closed fd simply leaves the set.
            if ((what & Interop.EPOLLERR_) != 0)
                throw new IOException($"eventfd {_fds[(int)token]} failed while waiting (epoll events 0x{what:X})");
            if ((what & Interop.EPOLLIN_) != 0) fired = true;
        }
        return fired;
    }

    private void Listen()
    {
        try
        {
            while (true)
            {
                if (WaitOnce(_listenerEpoll, -1)) Fire();
                else if (_failure is not null) return; // the stop fd, rung by Dispose after it failed every wait
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    /// <summary>Counts an event and wakes whoever waits on the monitor or asynchronously; with nobody
    /// there, no lock.</summary>
    private void Fire()
    {
        Interlocked.Increment(ref _count);
        if (Volatile.Read(ref _sleepers) == 0 && Volatile.Read(ref _listener) is null) return;
        AsyncWaiter[]? toComplete = null;
        lock (_gate)
        {
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

    private void PulseAll()
    {
        lock (_gate) Monitor.PulseAll(_gate);
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
        if (_failure is { } f) throw new IOException($"waiting for the doorbell failed: {f.Message}", f);
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
            if (_tcs.TrySetException(new IOException($"waiting for the doorbell failed: {e.Message}", e))) Cleanup();
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
