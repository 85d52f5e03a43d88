using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Ivshmem.Daemon.Server;

/// <summary>Something registered with the <see cref="EventLoop"/>: a listening socket or a peer.</summary>
internal interface IEventHandler
{
    /// <summary>Called on the loop thread with the epoll event bits that fired.</summary>
    void OnEvents(uint events);
}

/// <summary>
/// One epoll loop on one thread for every socket of every region (QEMU's reference server uses
/// select and breaks at FD_SETSIZE; epoll has no such limit). All server state is touched only on
/// this thread; other threads hand work over with <see cref="Post"/>. Registrations are tokens with a
/// generation, so an event already fetched for an fd that an earlier handler in the same batch
/// unregistered (a peer dropped while handling another peer) is recognised and skipped.
/// </summary>
internal sealed unsafe class EventLoop : IDisposable
{
    private const int BatchSize = 64;
    private static readonly IEventHandler WakeMarker = new NoHandler();

    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly List<IEventHandler?> _handlers = [];
    private readonly List<uint> _generations = [];
    private readonly Stack<int> _free = new();
    private readonly ConcurrentQueue<Action> _posted = new();
    private readonly PriorityQueue<Action, long> _timers = new();
    private readonly epoll_event* _events;
    private bool _disposed;

    public EventLoop()
    {
        _epoll = Interop.EpollCreate();
        try
        {
            _wakeFd = Interop.EventFdCreate();
            _events = (epoll_event*)NativeMemory.Alloc((nuint)(BatchSize * sizeof(epoll_event)));
            Register(_wakeFd, Interop.EPOLLIN_, WakeMarker);
        }
        catch
        {
            Interop.Close(_wakeFd);
            Interop.Close(_epoll);
            throw;
        }
    }

    /// <summary>Watches <paramref name="fd"/> for <paramref name="events"/>; returns the registration token.</summary>
    public ulong Register(int fd, uint events, IEventHandler handler)
    {
        int index;
        if (_free.Count > 0)
        {
            index = _free.Pop();
            _handlers[index] = handler;
        }
        else
        {
            index = _handlers.Count;
            _handlers.Add(handler);
            _generations.Add(0);
        }
        ulong token = ((ulong)_generations[index] << 32) | (uint)index;
        try
        {
            Interop.EpollAdd(_epoll, fd, events, token);
        }
        catch
        {
            Release(index);
            throw;
        }
        return token;
    }

    public void Modify(int fd, ulong token, uint events) => Interop.EpollModify(_epoll, fd, events, token);

    /// <summary>Stops watching <paramref name="fd"/>; call before closing it. Idempotent.</summary>
    public void Unregister(int fd, ulong token)
    {
        int index = (int)(uint)token;
        if (index >= _handlers.Count || _generations[index] != (uint)(token >> 32) || _handlers[index] is null) return;
        Interop.EpollRemove(_epoll, fd);
        Release(index);
    }

    /// <summary>Runs <paramref name="action"/> on the loop thread soon. Safe from any thread.</summary>
    public void Post(Action action)
    {
        _posted.Enqueue(action);
        Interop.EventFdSignal(_wakeFd);
    }

    /// <summary>Runs <paramref name="action"/> on the loop thread after <paramref name="delay"/>.
    /// Loop thread only.</summary>
    public void Schedule(TimeSpan delay, Action action) =>
        _timers.Enqueue(action, Environment.TickCount64 + (long)delay.TotalMilliseconds);

    /// <summary>Dispatches events until <paramref name="keepRunning"/> says stop (checked after every
    /// batch). Handler exceptions are bugs; they go to <paramref name="onHandlerFailure"/> and the loop
    /// carries on, because one bad peer must never stop the daemon.</summary>
    public void Run(Func<bool> keepRunning, Action<Exception> onHandlerFailure)
    {
        while (keepRunning())
        {
            int timeout = -1;
            if (_timers.TryPeek(out _, out long due)) timeout = (int)Math.Clamp(due - Environment.TickCount64, 0, int.MaxValue);
            int n = Interop.EpollWait(_epoll, _events, BatchSize, timeout);
            for (int i = 0; i < n; i++)
            {
                ulong token = _events[i].data.u64;
                int index = (int)(uint)token;
                IEventHandler? handler = _handlers[index];
                if (handler is null || _generations[index] != (uint)(token >> 32)) continue; // unregistered earlier in this batch
                if (ReferenceEquals(handler, WakeMarker))
                {
                    Interop.EventFdDrain(_wakeFd);
                    continue;
                }
                try { handler.OnEvents((uint)_events[i].events); }
                catch (Exception e) { onHandlerFailure(e); }
            }
            DrainPosted(onHandlerFailure);
            long now = Environment.TickCount64;
            while (_timers.TryPeek(out Action? timer, out long when) && when <= now)
            {
                _timers.Dequeue();
                try { timer(); }
                catch (Exception e) { onHandlerFailure(e); }
            }
        }
    }

    /// <summary>Runs everything posted so far; on the loop thread (after every batch, and once more
    /// after <see cref="Run"/> returned).</summary>
    public void DrainPosted(Action<Exception> onFailure)
    {
        while (_posted.TryDequeue(out Action? action))
        {
            try { action(); }
            catch (Exception e) { onFailure(e); }
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Interop.Close(_wakeFd);
        Interop.Close(_epoll);
        NativeMemory.Free(_events);
    }

    private void Release(int index)
    {
        _handlers[index] = null;
        _generations[index]++;
        _free.Push(index);
    }

    private sealed class NoHandler : IEventHandler
    {
        public void OnEvents(uint events) { }
    }
}
