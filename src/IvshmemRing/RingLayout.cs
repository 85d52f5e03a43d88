namespace Ivshmem.Ring;

/// <summary>
/// One single-producer single-consumer ring: a control area and a data area of records.
/// <code>
/// Ring (at a 128-byte aligned index; stride = 256 + capacity)
/// +0    producer block, 128 B, written only by the producer
///         +0   u64 tail position: bytes ever published (records before it are complete)
///         +8   u64 session: which pairing of peers the producer writes for (0 = none yet)
///         +16  u64 session start: the tail position at which that session began
///         +24  u32 producer waiting: 1 = blocked for space, the consumer must ring after a release
/// +128  consumer block, 128 B, written only by the consumer
///         +0   u64 head position: bytes ever released (the producer may overwrite before it)
///         +8   u64 session the consumer has joined
///         +16  u32 consumer waiting: 1 = about to block for data, the producer must ring after a publish
///         +24  u64 padding released: bytes of padding records among the head's (byte counts subtract them)
/// +256  data, capacity bytes (a multiple of 128), records back to back:
///
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |               Length: header + payload bytes (i32)            |
/// +---------------------------------------------------------------+
/// |   Type (i32): -1 padding, -2 session start, others the app's  |
/// +---------------------------------------------------------------+
/// |                 Payload, Length - 8 bytes ...                 |
/// +---------------------------------------------------------------+
/// A record occupies align8(Length) bytes and never wraps: when it does not fit before the end of
/// the data area, a padding record fills the rest and the record starts at index 0. A producer may
/// also wrap early, with the same padding record, once its index is past a hot window and the
/// unread records and the new one fit below it: a consumer that keeps up then reads memory the
/// producer has just written, still in the caches (docs/ring.md, "The hot window").
/// Every session's first record is a session-start record (type -2) whose payload is the u64 session
/// id: a consumer joining a session checks it is there, so a forged or rewound session start (a
/// write to the control block alone) cannot make it skip or replay records.
/// </code>
/// Positions are 64-bit byte counters that only grow; index = position mod capacity, which each side
/// tracks privately next to its own position, so the hot path neither divides nor trusts an index
/// from shared memory.
/// <para>Publish rule: the producer writes records with plain stores and then stores the tail with
/// release; every record below a tail the consumer loaded with acquire is complete. Symmetrically the
/// consumer stores the head with release once it no longer needs the records below it.</para>
/// </summary>
public static class RingLayout
{
    public const int ControlSize = 256;

    public const int TailOffset = 0;
    public const int ProducerSessionOffset = 8;
    public const int SessionStartOffset = 16;
    public const int ProducerWaitingOffset = 24;

    public const int ConsumerBlockOffset = 128;
    public const int HeadOffset = ConsumerBlockOffset + 0;
    public const int ConsumerSessionOffset = ConsumerBlockOffset + 8;
    public const int ConsumerWaitingOffset = ConsumerBlockOffset + 16;
    public const int PaddingReleasedOffset = ConsumerBlockOffset + 24;

    public const int DataOffset = ControlSize;

    public const int RecordHeaderSize = 8;
    public const int RecordAlignment = 8;
    public const int LengthOffset = 0;
    public const int TypeOffset = 4;

    /// <summary>The type of the record that fills the end of the data area before a wrap.</summary>
    public const int PaddingType = -1;

    /// <summary>The type of a session's first record; its payload is the session id (u64).</summary>
    public const int SessionStartType = -2;

    /// <summary>Payload bytes of the session-start record.</summary>
    public const int SessionStartPayload = 8;

    /// <summary>Ring bytes the session-start record takes: every session's data begins this far after its start.</summary>
    public const int SessionStartRecordSize = RecordHeaderSize + SessionStartPayload;

    /// <summary>Never more than this in one record, however large the ring: big records only hurt
    /// (they keep the consumer waiting for the whole record and fall out of the cache).</summary>
    public const int MaxPayloadLimit = 64 * 1024 * 1024;

    /// <summary>The producer wraps early once its index is past this many bytes and the consumer has
    /// caught up (see <see cref="RingProducer.HotWindow"/>): a megabyte of ring, about what one
    /// core's L2 cache holds on the machine of docs/benchmarks, and enough of a buffer right after an
    /// early wrap for a reader that pauses now and then (docs/ring.md, "The hot window").</summary>
    public const int DefaultHotWindow = 1024 * 1024;

    /// <summary>The data capacity of a ring laid out in <paramref name="ring"/>: what is left after the
    /// control block, which must be a multiple of the region alignment and at least the minimum ring
    /// capacity. Both ends derive it the same way, so they agree on where the ring wraps.</summary>
    internal static long DataCapacity(SharedMemory ring)
    {
        long capacity = ring.Length - ControlSize;
        if (capacity < RegionLayout.MinRingCapacity || capacity % RegionLayout.Alignment != 0)
            throw new ArgumentException($"ring memory of {ring.Length} bytes is not {ControlSize} bytes of control plus a data area of a multiple of {RegionLayout.Alignment} bytes, at least {RegionLayout.MinRingCapacity}", nameof(ring));
        return capacity;
    }

    /// <summary>Largest payload of one record in a ring of <paramref name="capacity"/> bytes: an eighth
    /// of the ring (as Agrona's), so a writer never waits for the whole ring to drain, capped at
    /// <see cref="MaxPayloadLimit"/>. Longer messages are split by the stream layer.</summary>
    public static int MaxPayloadFor(long capacity) =>
        (int)Math.Min(capacity / 8, MaxPayloadLimit) - RecordHeaderSize;

    internal static long Align(long length) => (length + (RecordAlignment - 1)) & ~(long)(RecordAlignment - 1);
}
