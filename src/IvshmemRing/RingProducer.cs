using System.Runtime.CompilerServices;

namespace Ivshmem.Ring;

/// <summary>
/// The writing end of one ring (see <see cref="RingLayout"/>). Single producer: one thread at a time.
/// <para>Zero-copy: <see cref="TryClaim"/> a span in shared memory, fill it, <see cref="Commit(int)"/>.
/// Committed records become visible to the consumer at <see cref="Publish"/>: one release store for
/// any number of records. <see cref="TryWrite"/> does all of it for one copied message.</para>
/// A full ring is a <c>false</c> return, not an error; waiting is the caller's choice
/// (<see cref="RingChannel"/> spins and then blocks).
/// </summary>
public sealed class RingProducer
{
    private readonly SharedMemory _control;
    private readonly SharedMemory _data;
    private readonly long _capacity;
    private readonly int _maxPayload;
    private readonly IRingSignal? _signal;
    private readonly ulong _session;

    private long _tail;          // next free position, includes committed but unpublished records
    private long _tailIndex;     // _tail mod capacity, tracked so the hot path never divides
    private long _published;     // the tail as last stored in shared memory
    private long _head;          // private cache of the consumer's head: re-read only when space runs out
    private bool _claimed;
    private long _claimIndex;    // where the claimed record's header is
    private long _claimPadding;  // bytes of padding written before it at the wrap
    private int _claimLength;
    private long _hotWindow;     // as configured (0: wrap only at the end)
    private long _window;        // in use: grows when early wraps made the writer wait, shrinks back
    private long _nextEarlyWrapCheck; // index from which the next early-wrap check is made (long.MaxValue: none)
    private bool _lapStartedEarly;    // this lap began with an early wrap: the reader may still be in the last one
    private bool _filledEarlyLap;     // and the ring filled in it: the window grows if the writer has to sleep
    private long _easyBytes;     // bytes of the laps since the window last changed
    private bool _sessionStartPending;
    private RingCorruptedException? _failure;

    /// <param name="ring">The ring's memory: control block and data (<see cref="Region.RingMemory"/>).</param>
    /// <param name="session">From <see cref="RingSession.New"/>: whom this producer writes for.</param>
    /// <param name="signal">Rings the consumer's doorbell when it sleeps; null when it only polls.</param>
    /// <param name="name">For error messages ("ring 0->1 (vm-a -> vm-b)").</param>
    public RingProducer(SharedMemory ring, ulong session, IRingSignal? signal = null, string name = "ring")
    {
        _capacity = RingLayout.DataCapacity(ring);
        if (session == 0) throw new ArgumentOutOfRangeException(nameof(session), "session 0 means 'none'; use RingSession.New");
        Name = name;
        _control = ring.Slice(0, RingLayout.ControlSize);
        _data = ring.Slice(RingLayout.DataOffset, _capacity);
        _maxPayload = RingLayout.MaxPayloadFor(_capacity);
        _signal = signal;
        _session = session;

        // Continue from this ring's tail (earlier sessions' records stay below the new start). A control
        // block that no producer and consumer could have left (a peer of the region wrote garbage into
        // it) is reset to an empty ring instead of failing every open until the daemon restarts: nobody
        // has joined the new session yet, so no reader loses a record it was promised.
        long tail = _control.ReadInt64(RingLayout.TailOffset);
        long head = _control.ReadInt64Acquire(RingLayout.HeadOffset);
        if (tail < 0 || head < 0 || head > tail || tail - head > _capacity || (tail & (RingLayout.RecordAlignment - 1)) != 0)
        {
            ResetReason = $"tail {tail} and head {head} were inconsistent for a capacity of {_capacity}; the ring was reset to empty";
            tail = head = 0;
            _control.WriteInt64(RingLayout.HeadOffset, 0);
            _control.WriteInt64(RingLayout.ConsumerSessionOffset, 0);
            _control.WriteInt64(RingLayout.PaddingReleasedOffset, 0);
            _control.WriteInt64Release(RingLayout.TailOffset, 0);
        }
        _tail = _published = tail;
        _tailIndex = tail % _capacity;
        _head = head;
        _control.WriteInt64(RingLayout.SessionStartOffset, tail);
        _control.WriteInt32(RingLayout.ProducerWaitingOffset, 0);
        _control.WriteInt64Release(RingLayout.ProducerSessionOffset, (long)session);
        // The session's first record names it; written now, or with the first claim once the old
        // session's unread records have made room.
        _sessionStartPending = true;
        HotWindow = RingLayout.DefaultHotWindow;
        TryWriteSessionStart();
    }

    public string Name { get; }

    public long Capacity => _capacity;

    /// <summary>The largest payload one record may carry.</summary>
    public int MaxPayload => _maxPayload;

    public ulong Session => _session;

    /// <summary>Bytes committed so far (published or not), as a position.</summary>
    public long Position => _tail;

    /// <summary>Why the ring was reset when this producer opened it (its control block was garbage), or
    /// null when it was not. Worth a log line: some peer of the region wrote where it should not.</summary>
    public string? ResetReason { get; }

    /// <summary>The consumer's head as this producer last read it (<see cref="HasSpaceFor"/>,
    /// <see cref="IsDrained"/> and a full <see cref="TryClaim"/> re-read it): whether a waiting writer's
    /// consumer is still making progress.</summary>
    public long ConsumerPosition => _head;

    /// <summary>
    /// Bytes of the ring the producer cycles through while the consumer keeps up (0: the whole ring,
    /// wrapping only at its end). Past this index, a claim wraps early (an ordinary padding record to
    /// the end) when the unread records and the new one fit below the index, so a consumer that keeps
    /// up reads what the producer has just written while it is still in the caches; a consumer that
    /// falls behind still has the whole ring as a buffer. Right after an early wrap, though, the
    /// buffer is only what lies below the reader; when the ring fills there and the writer then has
    /// to sleep for space (<see cref="SleptForSpace"/>: its reader paused, rather than reading a little
    /// slower than it writes), the window in use (<see cref="HotWindowInUse"/>) doubles, up to half the
    /// ring (where it is off), and it halves back each time the writer has written
    /// <see cref="ShrinkAfterWindows"/> windows of the size set without that. Ignored for rings
    /// smaller than twice it. Default <see cref="RingLayout.DefaultHotWindow"/> (docs/ring.md,
    /// "The hot window").
    /// </summary>
    public long HotWindow
    {
        get => _hotWindow;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _hotWindow = _window = value;
            _easyBytes = 0;
            _nextEarlyWrapCheck = WindowOff ? long.MaxValue : Math.Max(_window, _tailIndex);
        }
    }

    /// <summary>The hot window as adapted to the reader (see <see cref="HotWindow"/>); more than half
    /// the capacity means early wraps are off for now.</summary>
    public long HotWindowInUse => _window;

    /// <summary>A grown window halves once the producer has written this many windows of the size set
    /// (<see cref="HotWindow"/>) without sleeping for space.</summary>
    public const int ShrinkAfterWindows = 16;

    private bool WindowOff => _window == 0 || _window > _capacity / 2;

    /// <summary>True once a consumer has joined this producer's session.</summary>
    public bool ConsumerJoined => (ulong)_control.ReadInt64Acquire(RingLayout.ConsumerSessionOffset) == _session;

    /// <summary>
    /// Claims room for a record of <paramref name="length"/> payload bytes and returns it as a span
    /// in shared memory. False when the ring is full. Throws when <paramref name="length"/> exceeds
    /// <see cref="MaxPayload"/>, or when another claim is outstanding.
    /// </summary>
    public bool TryClaim(int length, out Span<byte> payload)
    {
        if (_failure is not null) ThrowHelper.Rethrow(_failure);
        if (_claimed) ThrowHelper.ClaimOutstanding();
        if ((uint)length > (uint)_maxPayload) ThrowHelper.TooLong(length, _maxPayload);
        if (_sessionStartPending && !TryWriteSessionStart())
        {
            payload = default;
            return false;
        }
        return TryClaimRecord(length, out payload);
    }

    private bool TryClaimRecord(int length, out Span<byte> payload)
    {
        long recordLength = RingLayout.Align(length + RingLayout.RecordHeaderSize);
        long index = _tailIndex;
        long toEnd = _capacity - index;
        long padding = toEnd < recordLength ? toEnd : 0;
        bool early = false;
        if (padding == 0 && index >= _nextEarlyWrapCheck) early = (padding = EarlyWrapPadding(index, recordLength)) != 0;
        long required = padding + recordLength;
        if (required > _capacity - (_tail - _head))
        {
            RefreshHead();
            if (required > _capacity - (_tail - _head))
            {
                if (_lapStartedEarly) _filledEarlyLap = true;
                payload = default;
                return false;
            }
        }
        if (padding != 0)
        {
            _lapStartedEarly = early;
            _filledEarlyLap = false;
            LapEnded(index);
            _data.WriteInt32(index + RingLayout.TypeOffset, RingLayout.PaddingType);
            _data.WriteInt32(index + RingLayout.LengthOffset, (int)padding);
            index = 0;
        }
        _claimed = true;
        _claimIndex = index;
        _claimPadding = padding;
        _claimLength = length;
        payload = _data.Span(index + RingLayout.RecordHeaderSize, length);
        return true;
    }

    /// <summary>Completes the claimed record with all its bytes. Visible at the next <see cref="Publish"/>.</summary>
    public void Commit(int type = 0) => Commit(_claimLength, type);

    /// <summary>Completes the claimed record with its first <paramref name="length"/> bytes.</summary>
    public void Commit(int length, int type)
    {
        if (!_claimed) ThrowHelper.NoClaim();
        if ((uint)length > (uint)_claimLength) ThrowHelper.CommitTooLong(length, _claimLength);
        if (type is RingLayout.PaddingType or RingLayout.SessionStartType) ThrowHelper.ReservedType(type);
        CommitRecord(length, type);
    }

    private void CommitRecord(int length, int type)
    {
        long index = _claimIndex;
        int recordLength = length + RingLayout.RecordHeaderSize;
        _data.WriteInt32(index + RingLayout.TypeOffset, type);
        _data.WriteInt32(index + RingLayout.LengthOffset, recordLength);
        long aligned = RingLayout.Align(recordLength);
        _tail += _claimPadding + aligned;
        index += aligned;
        _tailIndex = index == _capacity ? 0 : index;
        if (_claimPadding != 0 || _tailIndex == 0) _nextEarlyWrapCheck = WindowOff ? long.MaxValue : _window;
        if (_tailIndex == 0)
        {
            _lapStartedEarly = _filledEarlyLap = false; // ended exactly at the end: the next lap starts there
            LapEnded(_capacity);
        }
        _claimed = false;
    }

    /// <summary>The padding for an early wrap at <paramref name="index"/> (past the hot window) when the
    /// unread records and a record of <paramref name="recordLength"/> fit below it, else 0 and the next
    /// check one window further on: at most capacity / window head loads per lap, however small the
    /// records.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long EarlyWrapPadding(long index, long recordLength)
    {
        RefreshHead();
        if ((_tail - _head) + recordLength <= index) return _capacity - index;
        _nextEarlyWrapCheck = index + _window;
        return 0;
    }

    /// <summary>
    /// Tells the producer that its writer, finding the ring full, had to sleep until there was space,
    /// i.e. its reader paused instead of just reading a little slower. If the ring filled in a lap
    /// that began with an early wrap, the hot window was too small a buffer for this reader's pauses,
    /// and it doubles (<see cref="HotWindow"/>). A writer that waits for space only briefly (spinning
    /// while the reader releases what it copies out) does not call this: a bigger window would not
    /// let it write sooner, and would only move the ring's traffic out of the caches. Called by
    /// <see cref="RingChannel"/>'s waits; a caller that waits on its own calls it when it sleeps.
    /// </summary>
    public void SleptForSpace()
    {
        if (_filledEarlyLap) GrowWindow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GrowWindow()
    {
        _lapStartedEarly = false;
        _filledEarlyLap = false;
        _easyBytes = 0;
        _window = Math.Min(_window * 2, _capacity);
        if (WindowOff) _nextEarlyWrapCheck = long.MaxValue;
    }

    /// <summary>A lap of <paramref name="length"/> bytes ended without the writer sleeping for space
    /// since the window last changed: a grown window halves once such laps add up to
    /// <see cref="ShrinkAfterWindows"/> windows of the size set. Counted in bytes, not laps: the laps
    /// of a grown window are as long as it, and a count of laps kept a 16 MiB window for 256 MiB.</summary>
    private void LapEnded(long length)
    {
        if (_window != _hotWindow && (_easyBytes += length) >= ShrinkAfterWindows * _hotWindow) ShrinkWindow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ShrinkWindow()
    {
        _easyBytes = 0;
        _window = Math.Max(_window / 2, _hotWindow);
        // Takes effect from the next lap (CommitRecord sets the check after this wrap).
    }

    /// <summary>Drops the outstanding claim; nothing of it becomes visible.</summary>
    public void Abort() => _claimed = false;

    /// <summary>
    /// Makes every committed record visible with one release store of the tail, then rings the
    /// consumer's doorbell if, and only if, it announced that it sleeps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish()
    {
        if (_tail == _published) return;
        _published = _tail;
        _control.WriteInt64Release(RingLayout.TailOffset, _tail);
        if (_signal is not null) WakeConsumerIfWaiting();
    }

    /// <summary>Copies <paramref name="payload"/> into one record and publishes it. False when full.</summary>
    public bool TryWrite(ReadOnlySpan<byte> payload, int type = 0)
    {
        if (!TryClaim(payload.Length, out Span<byte> target)) return false;
        payload.CopyTo(target);
        Commit(payload.Length, type);
        Publish();
        return true;
    }

    /// <summary>True when a record of <paramref name="length"/> payload bytes fits now (re-reads the head).</summary>
    public bool HasSpaceFor(int length)
    {
        if (_failure is not null) ThrowHelper.Rethrow(_failure);
        if (_sessionStartPending && !TryWriteSessionStart()) return false;
        long recordLength = RingLayout.Align(length + RingLayout.RecordHeaderSize);
        long toEnd = _capacity - _tailIndex;
        long required = (toEnd < recordLength ? toEnd : 0) + recordLength;
        RefreshHead();
        return required <= _capacity - (_tail - _head);
    }

    /// <summary>True when the consumer has released everything published (re-reads the head).</summary>
    public bool IsDrained()
    {
        if (_failure is not null) ThrowHelper.Rethrow(_failure);
        RefreshHead();
        return _head == _published;
    }

    /// <summary>Announces (or withdraws) that this producer is about to block for space; the
    /// consumer rings after its next release. Callers re-check for space after announcing.</summary>
    public void SetWaiting(bool waiting)
    {
        _control.WriteInt32Release(RingLayout.ProducerWaitingOffset, waiting ? 1 : 0);
        if (waiting) SharedMemory.FullFence();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WakeConsumerIfWaiting()
    {
        SharedMemory.FullFence();
        if (_control.ReadInt32Acquire(RingLayout.ConsumerWaitingOffset) != 0) _signal!.Ring();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefreshHead()
    {
        long head = _control.ReadInt64Acquire(RingLayout.HeadOffset);
        if (head < _head || head > _published)
            Fail($"the consumer's head {head} is outside [{_head}, {_published}]: it went backwards or past the published tail");
        _head = head;
    }

    /// <summary>Writes and publishes the session-start record (see <see cref="RingLayout"/>) if it fits.</summary>
    private bool TryWriteSessionStart()
    {
        if (!TryClaimRecord(RingLayout.SessionStartPayload, out Span<byte> payload)) return false;
        System.Runtime.InteropServices.MemoryMarshal.Write(payload, in _session);
        CommitRecord(RingLayout.SessionStartPayload, RingLayout.SessionStartType);
        _sessionStartPending = false;
        Publish();
        return true;
    }

    private void Fail(string message)
    {
        _failure = new RingCorruptedException(Name, message);
        throw _failure;
    }
}
