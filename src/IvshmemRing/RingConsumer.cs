using System.Runtime.CompilerServices;

namespace Ivshmem.Ring;

/// <summary>
/// The reading end of one ring (see <see cref="RingLayout"/>). Single consumer: one thread at a time.
/// <para>Zero-copy: <see cref="TryRead(out RingRecord)"/> hands out records in place; they stay valid
/// until <see cref="Release"/>, which frees all of them with one release store of the head.</para>
/// <para>The producer is not trusted. Every tail, length and type read from shared memory is checked
/// before use; an impossible value throws <see cref="RingCorruptedException"/> (and keeps throwing it),
/// and no read or write ever leaves this ring's data area, because indexes come from this side's own
/// position and validated lengths only.</para>
/// </summary>
public sealed class RingConsumer
{
    private readonly SharedMemory _control;
    private readonly SharedMemory _data;
    private readonly long _capacity;
    private readonly int _maxPayload;
    private readonly IRingSignal? _signal;
    private readonly uint _epoch;

    private bool _joined;
    private ulong _session;
    private bool _wakeAfterAdopt; // the adopted session's start freed space and no producer was told yet
    private ulong _adopted;      // the session whose start this consumer skipped to (joined once its start record is read)
    private long _head;          // next record's position (records below it may still be in use)
    private long _headIndex;     // _head mod capacity
    private long _released;      // the head as last stored in shared memory
    private long _tail;          // the producer's tail as last loaded (validated)
    private long _paddingReleased; // padding bytes skipped, kept in the control block for byte counts only
    private RingCorruptedException? _failure;

    /// <param name="ring">The ring's memory: control block and data (<see cref="Region.RingMemory"/>).</param>
    /// <param name="epoch">This consumer's slot epoch: it joins only producer sessions addressed to it
    /// (see <see cref="RingSession"/>).</param>
    /// <param name="signal">Rings the producer's doorbell when it waits for space; null when it polls.</param>
    /// <param name="name">For error messages.</param>
    public RingConsumer(SharedMemory ring, uint epoch, IRingSignal? signal = null, string name = "ring")
    {
        _capacity = RingLayout.DataCapacity(ring);
        Name = name;
        _control = ring.Slice(0, RingLayout.ControlSize);
        _data = ring.Slice(RingLayout.DataOffset, _capacity);
        _maxPayload = RingLayout.MaxPayloadFor(_capacity);
        _signal = signal;
        _epoch = epoch;
    }

    public string Name { get; }

    public long Capacity => _capacity;

    public int MaxPayload => _maxPayload;

    /// <summary>True once a producer session addressed to this consumer was joined.</summary>
    public bool Joined => _joined;

    /// <summary>The joined session, 0 before.</summary>
    public ulong Session => _session;

    /// <summary>The position of the next record to read.</summary>
    public long Position => _head;

    /// <summary>
    /// Reads the next record in place. False when there is none (or no producer session to join yet).
    /// The record's memory is the producer's again after <see cref="Release"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead(out RingRecord record)
    {
        if (!TryNext(out long index, out int length, out int type))
        {
            record = default;
            return false;
        }
        record = new RingRecord(_data.Span(index + RingLayout.RecordHeaderSize, length), type);
        Advance(index, length);
        return true;
    }

    /// <summary>Copies the next record into <paramref name="destination"/> and releases it. Throws when
    /// the record is larger than the destination (nothing is consumed then).</summary>
    public bool TryRead(Span<byte> destination, out int length, out int type)
    {
        if (!TryNext(out long index, out length, out type)) return false;
        if (length > destination.Length) ThrowHelper.DestinationTooSmall(length, destination.Length);
        _data.Span(index + RingLayout.RecordHeaderSize, length).CopyTo(destination);
        Advance(index, length);
        Release();
        return true;
    }

    /// <summary>Validates the next record and says where its payload lies, without consuming it; a
    /// caller that copies a record out piece by piece (<see cref="RingStream"/>) consumes it with
    /// <see cref="Consume"/> only when done, so <see cref="Release"/> never frees a record in use.</summary>
    internal bool TryPeek(out long payloadIndex, out int length, out int type)
    {
        if (!TryNext(out long index, out length, out type))
        {
            payloadIndex = 0;
            return false;
        }
        payloadIndex = index + RingLayout.RecordHeaderSize;
        return true;
    }

    /// <summary>Consumes the record <see cref="TryPeek"/> returned.</summary>
    internal void Consume(long payloadIndex, int length)
    {
        System.Diagnostics.Debug.Assert(payloadIndex - RingLayout.RecordHeaderSize == _headIndex);
        Advance(payloadIndex - RingLayout.RecordHeaderSize, length);
    }

    /// <summary>The payload at an index from <see cref="TryPeek"/>; valid until it is consumed and released.</summary>
    internal ReadOnlySpan<byte> PayloadAt(long payloadIndex, int length) => _data.Span(payloadIndex, length);

    /// <summary>Gives the memory of every record read so far back to the producer (one release
    /// store), and rings the producer's doorbell if, and only if, it waits for space.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release()
    {
        if (_head == _released) return;
        _released = _head;
        _control.WriteInt64Release(RingLayout.HeadOffset, _head);
        if (_signal is not null) WakeProducerIfWaiting();
    }

    /// <summary>True when a record is ready (re-reads the tail; joins a session if one is open).</summary>
    public bool HasData()
    {
        if (_failure is not null) ThrowHelper.Rethrow(_failure);
        if (!_joined && !TryJoin()) return false;
        if (_tail != _head) return true;
        RefreshTail();
        return _tail != _head;
    }

    /// <summary>Announces (or withdraws) that this consumer is about to block for data; the producer
    /// rings after its next publish. Callers re-check <see cref="HasData"/> after announcing.</summary>
    public void SetWaiting(bool waiting)
    {
        _control.WriteInt32Release(RingLayout.ConsumerWaitingOffset, waiting ? 1 : 0);
        if (waiting) SharedMemory.FullFence();
    }

    /// <summary>The producer's current session id (0 when none). A joined consumer that sees it change
    /// knows the producer re-opened the ring: what it was reading has ended.</summary>
    public ulong ProducerSession => (ulong)_control.ReadInt64Acquire(RingLayout.ProducerSessionOffset);

    /// <summary>Validates the next record without consuming it; skips padding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryNext(out long index, out int length, out int type)
    {
        if (_failure is not null) ThrowHelper.Rethrow(_failure);
        while (true)
        {
            long available = _tail - _head;
            if (available == 0)
            {
                if (!_joined)
                {
                    if (!TryJoin()) break;
                    continue;
                }
                RefreshTail();
                available = _tail - _head;
                if (available == 0) break;
            }
            index = _headIndex;
            // Each field is loaded once into a local: the producer may change the memory after this
            // check, but nothing here reads it again.
            int recordLength = _data.ReadInt32(index + RingLayout.LengthOffset);
            type = _data.ReadInt32(index + RingLayout.TypeOffset);
            if (type == RingLayout.PaddingType)
            {
                SkipPadding(index, recordLength, available);
                continue;
            }
            long aligned = RingLayout.Align(recordLength);
            if (recordLength < RingLayout.RecordHeaderSize || recordLength - RingLayout.RecordHeaderSize > _maxPayload
                || aligned > available || index + aligned > _capacity)
                BadRecord(index, recordLength, type, available);
            length = recordLength - RingLayout.RecordHeaderSize;
            return true;
        }
        index = 0;
        length = 0;
        type = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Advance(long index, int length)
    {
        long aligned = RingLayout.Align(length + RingLayout.RecordHeaderSize);
        _head += aligned;
        index += aligned;
        _headIndex = index == _capacity ? 0 : index;
    }

    private void SkipPadding(long index, int recordLength, long available)
    {
        long toEnd = _capacity - index;
        if (recordLength != toEnd || toEnd > available)
            Fail($"at position {_head}: a padding record of {recordLength} bytes must fill exactly the {toEnd} bytes to the end of the ring, and {available} are published");
        _head += toEnd;
        _headIndex = 0;
        // Stored before the head that includes it is released: whoever counts bytes from the head
        // (ivshmemd's status and metrics) subtracts it. Never read back for the data path.
        _paddingReleased += toEnd;
        _control.WriteInt64(RingLayout.PaddingReleasedOffset, _paddingReleased);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BadRecord(long index, int recordLength, int type, long available) =>
        Fail($"at position {_head} (index {index}): record length {recordLength} (type {type}) is impossible: " +
             $"it must be {RingLayout.RecordHeaderSize}..{_maxPayload + RingLayout.RecordHeaderSize}, within the {available} published bytes and before the end of the ring at {_capacity}");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefreshTail()
    {
        long tail = _control.ReadInt64Acquire(RingLayout.TailOffset);
        if (tail < _tail || tail - _head > _capacity)
            Fail($"the producer's tail {tail} is impossible: it must not go back from {_tail} nor run more than the capacity {_capacity} ahead of the head {_head}");
        _tail = tail;
    }

    /// <summary>
    /// Joins the producer's session if it is addressed to this consumer's epoch, in two steps: adopt
    /// it (skip to its start, which frees the old session's records for the producer), then check that
    /// its first record is the session-start record naming it. The start position is a value in shared
    /// memory that any peer of the region can rewrite; the record is what makes a start that was
    /// forged (skipping records) or rewound (replaying an old session) fail here instead of being read.
    /// </summary>
    private bool TryJoin()
    {
        ulong session = (ulong)_control.ReadInt64Acquire(RingLayout.ProducerSessionOffset);
        if (session == 0 || RingSession.ConsumerEpoch(session) != _epoch) return false;
        if (session != _adopted && Adopt(session)) return true;
        while (true)
        {
            if (_tail == _head)
            {
                RefreshTail();
                if (_tail == _head)
                {
                    // Skipping to the start freed the old session's records: a producer that waits
                    // for room for its start record must hear of it (once).
                    if (_wakeAfterAdopt && _signal is not null) WakeProducerIfWaiting();
                    _wakeAfterAdopt = false;
                    return false;
                }
            }
            long index = _headIndex;
            int recordLength = _data.ReadInt32(index + RingLayout.LengthOffset);
            int type = _data.ReadInt32(index + RingLayout.TypeOffset);
            if (type == RingLayout.PaddingType)
            {
                SkipPadding(index, recordLength, _tail - _head);
                continue;
            }
            int expected = RingLayout.SessionStartPayload + RingLayout.RecordHeaderSize;
            if (type != RingLayout.SessionStartType || recordLength != expected || index + expected > _capacity
                || (ulong)_data.ReadInt64(index + RingLayout.RecordHeaderSize) != session)
                Fail($"session 0x{session:X16} does not begin with its session-start record at position {_head} (found type {type}, length {recordLength}): " +
                     "the session's start or id in the control block was rewritten by a peer of the region (a forged or replayed session)");
            Advance(index, RingLayout.SessionStartPayload);
            MarkJoined(session);
            return true;
        }
    }

    /// <summary>Takes a session's start as this consumer's position. True when it is a session this slot
    /// already joined (this process restarted while the producer kept writing): then reading goes on
    /// from the released head, and there is no start record to check.</summary>
    private bool Adopt(ulong session)
    {
        ulong joined = (ulong)_control.ReadInt64(RingLayout.ConsumerSessionOffset);
        long head = _control.ReadInt64(RingLayout.HeadOffset);
        bool resumed = joined == session;
        long start = resumed ? head : _control.ReadInt64(RingLayout.SessionStartOffset);
        long tail = _control.ReadInt64Acquire(RingLayout.TailOffset);
        if (head < 0 || start < head || tail < start || tail - start > _capacity || (start & (RingLayout.RecordAlignment - 1)) != 0)
            Fail($"cannot join session 0x{session:X16}: head {head}, session start {start} and tail {tail} are inconsistent for a capacity of {_capacity}");
        _adopted = session;
        // Only a statistic (see SkipPadding): a value no consumer could have left starts again from 0.
        long padding = _control.ReadInt64(RingLayout.PaddingReleasedOffset);
        _paddingReleased = padding >= 0 && padding <= head ? padding : 0;
        _head = _released = start;
        _headIndex = start % _capacity;
        _tail = tail;
        _control.WriteInt64Release(RingLayout.HeadOffset, start);
        if (resumed) MarkJoined(session);
        else _wakeAfterAdopt = true;
        return resumed;
    }

    private void MarkJoined(ulong session)
    {
        _session = session;
        _joined = true;
        _wakeAfterAdopt = false;
        if (_head != _released)
        {
            _released = _head;
            _control.WriteInt64Release(RingLayout.HeadOffset, _head);
        }
        _control.WriteInt64Release(RingLayout.ConsumerSessionOffset, (long)session);
        // Skipping to the start may have freed space a producer is waiting for.
        if (_signal is not null) WakeProducerIfWaiting();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WakeProducerIfWaiting()
    {
        SharedMemory.FullFence();
        if (_control.ReadInt32Acquire(RingLayout.ProducerWaitingOffset) != 0) _signal!.Ring();
    }

    private void Fail(string message)
    {
        _failure = new RingCorruptedException(Name, message);
        throw _failure;
    }
}
