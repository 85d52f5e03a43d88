using Tmds.Linux;

namespace Ivshmem.Ring;

/// <summary>
/// Waits on one or more eventfds (a host peer's own vectors, or the eventfds VFIO delivers MSI-X
/// vectors to). Whoever finds an fd fired drains it, bumps an event count and wakes every waiter,
/// synchronous or asynchronous; so any number of threads (a reader waiting for data, a writer waiting
/// for space) share the same vectors without stealing each other's wake-ups, which reading the
/// eventfd directly would do.
/// <para>A synchronous waiter polls the fds itself when no other thread does: the doorbell then wakes
/// the very thread that waits for it, one wake-up instead of two. Further synchronous waiters sleep
/// on a monitor until the polling one counts an event or leaves (one of them then takes over).
/// Asynchronous waits cannot hold a thread in poll(2), so the first one starts a listener thread that
/// polls from then on, and wakes everyone the same way.</para>
/// <para>Events are counted when a waiter or the listener drains them: a ring that nobody waits for
/// stays in its eventfd, and the next wait returns at once (a spurious wake-up, which callers allow
/// for: they re-check their condition).</para>
/// </summary>
public sealed class EventFdWaiter : IRingWaiter, IDisposable
{
    private readonly int[] _fds;
    private readonly bool _ownsFds;
    private readonly int _stopFd;   // rung once, on dispose: ends every poll
    private readonly int _kickFd;   // rung by the listener when it counted an event a polling waiter may have missed
    private readonly object _gate = new();
    private readonly List<AsyncWaiter> _asyncWaiters = [];
    private Thread? _listener;      // started by the first asynchronous wait
    private bool _polling;          // a synchronous waiter is in poll(2) on the fds
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
        _stopFd = Interop.EventFdCreate();
        _kickFd = Interop.EventFdCreate();
    }

    /// <summary>How many times waiting found any of the fds fired (after coalescing).</summary>
    public long Count => Volatile.Read(ref _count);

    public long Prepare() => Volatile.Read(ref _count);

    public bool Wait(long token, int timeoutMs)
    {
        if (Volatile.Read(ref _count) != token) return true;
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            int left;
            lock (_gate)
            {
                if (_count != token) return true;
                ThrowIfBroken();
                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0) return false;
                left = timeoutMs < 0 ? -1 : (int)Math.Min(remaining, int.MaxValue);
                if (_polling || _listener is not null)
                {
                    Monitor.Wait(_gate, left);
                    continue;
                }
                _polling = true;
            }
            try
            {
                PollOnce(left);
            }
            catch (Exception e)
            {
                Fail(e);
            }
            finally
            {
                lock (_gate)
                {
                    _polling = false;
                    Monitor.PulseAll(_gate); // another synchronous waiter takes over, or Dispose goes on
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
            if (_count != token) return new ValueTask<bool>(true);
            ThrowIfBroken();
            if (_listener is null)
            {
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
        // Waiters see the error from now on; the stop fd ends the polls, then nothing uses the fds.
        Fail(new ObjectDisposedException(nameof(EventFdWaiter)));
        Interop.EventFdSignal(_stopFd);
        listener?.Join();
        lock (_gate)
        {
            while (_polling) Monitor.Wait(_gate);
        }
        Interop.Close(_stopFd);
        Interop.Close(_kickFd);
        if (_ownsFds) foreach (int fd in _fds) Interop.Close(fd);
    }

    /// <summary>One poll(2) by a synchronous waiter: on the fds, the kick fd and the stop fd.</summary>
    private void PollOnce(int timeoutMs)
    {
        Span<pollfd> polls = stackalloc pollfd[_fds.Length + 2];
        for (int i = 0; i < _fds.Length; i++) polls[i].fd = _fds[i];
        polls[_fds.Length].fd = _kickFd;
        polls[_fds.Length + 1].fd = _stopFd;
        if (Interop.PollIn(polls, timeoutMs) == 0 || polls[_fds.Length + 1].revents != 0) return;
        if (polls[_fds.Length].revents != 0) Interop.EventFdDrain(_kickFd);
        if (Drain(polls)) Fire(fromListener: false);
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
                if (Drain(polls)) Fire(fromListener: true);
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    /// <summary>Drains every fd that poll says fired; true when any held a ring (a concurrent poller
    /// may have drained it first, and then counts it itself).</summary>
    private bool Drain(ReadOnlySpan<pollfd> polls)
    {
        bool fired = false;
        for (int i = 0; i < _fds.Length; i++)
        {
            short revents = polls[i].revents;
            if ((revents & (Interop.POLLERR_ | Interop.POLLNVAL_)) != 0)
                throw new IOException($"eventfd {_fds[i]} failed while waiting (poll revents 0x{revents:X}); was it closed?");
            if ((revents & Interop.POLLIN_) != 0 && Interop.EventFdDrain(_fds[i]) != 0) fired = true;
        }
        return fired;
    }

    private void Fire(bool fromListener)
    {
        AsyncWaiter[]? toComplete = null;
        bool kick;
        lock (_gate)
        {
            _count++;
            Monitor.PulseAll(_gate);
            // A waiter polling at the same time may have found the fd already drained; the count it
            // waits for changed here, so wake it.
            kick = fromListener && _polling;
            if (_asyncWaiters.Count > 0)
            {
                toComplete = [.. _asyncWaiters];
                _asyncWaiters.Clear();
            }
        }
        if (kick) Interop.EventFdSignal(_kickFd);
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
