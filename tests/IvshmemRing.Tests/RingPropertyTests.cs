using CsCheck;
using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// Random interleavings of claim/commit/abort/publish, batch publish, zero-copy and copying reads and
/// releases, with sizes from 0 to the maximum and positions all around the wrap, against a model: a
/// queue of published messages and the free-space rule of the spec. The bytes read equal the bytes
/// written, in order, and a full ring is reported exactly when the model says so.
/// </summary>
public class RingPropertyTests
{
    private const long Capacity = 8192;          // max payload 1016: a wrap every few records
    private const int Max = (int)(Capacity / 8) - 8;

    private enum Op { Write, Batch, ClaimAbort, Read, ReadCopy, Release, Drain }

    private static readonly Gen<int> Size = Gen.OneOf(Gen.Int[0, 16], Gen.Int[0, Max], Gen.Int[Max - 16, Max]);

    private static readonly Gen<(Op Op, int Size, int Count)[]> Ops =
        Gen.Select(Gen.Enum<Op>(), Size, Gen.Int[1, 12]).Array[1, 300];

    [Fact]
    public void ReadsMatchTheModelForAnyInterleaving()
    {
        Ops.Sample(ops => Run(ops), iter: 3000);
    }

    private static void Run((Op Op, int Size, int Count)[] ops)
    {
        using var mapping = MappedMemory.Anonymous(RingLayout.ControlSize + Capacity);
        var producer = new RingProducer(mapping.Memory, RingSession.New(1));
        var consumer = new RingConsumer(mapping.Memory, 1);
        var model = new Model();
        int sequence = 0;
        foreach (var (op, size, count) in ops)
        {
            switch (op)
            {
                case Op.Write:
                    byte[] message = Message(++sequence, size);
                    Assert.Equal(model.Fits(size), producer.TryWrite(message, sequence));
                    if (model.Fits(size)) { model.Commit(message, sequence); model.Publish(); }
                    break;
                case Op.Batch:
                    for (int i = 0; i < count; i++)
                    {
                        byte[] m = Message(++sequence, size);
                        bool fits = model.Fits(size);
                        Assert.Equal(fits, producer.TryClaim(size, out Span<byte> span));
                        if (!fits) break;
                        m.CopyTo(span);
                        producer.Commit(sequence);
                        model.Commit(m, sequence);
                    }
                    Assert.Equal(model.Published, mapping.Memory.ReadInt64(RingLayout.TailOffset)); // nothing visible yet
                    producer.Publish();
                    model.Publish();
                    break;
                case Op.ClaimAbort:
                    if (producer.TryClaim(size, out Span<byte> junk)) { junk.Fill(0xEE); producer.Abort(); }
                    break;
                case Op.Read:
                    for (int i = 0; i < count; i++)
                    {
                        bool expected = model.TryRead(out byte[] want, out int type);
                        Assert.Equal(expected, consumer.TryRead(out RingRecord record));
                        if (!expected) break;
                        Assert.Equal(type, record.Type);
                        Assert.True(record.Payload.SequenceEqual(want));
                    }
                    break;
                case Op.ReadCopy:
                    {
                        bool expected = model.TryRead(out byte[] want, out int type);
                        consumer.Release();
                        model.Release();
                        byte[] buffer = new byte[Max];
                        Assert.Equal(expected, consumer.TryRead(buffer, out int length, out int got));
                        if (expected) { Assert.Equal(want, buffer[..length]); Assert.Equal(type, got); model.Release(); }
                    }
                    break;
                case Op.Release:
                    consumer.Release();
                    model.Release();
                    break;
                case Op.Drain:
                    while (model.TryRead(out byte[] want, out _))
                    {
                        Assert.True(consumer.TryRead(out RingRecord r));
                        Assert.True(r.Payload.SequenceEqual(want));
                    }
                    Assert.False(consumer.TryRead(out _));
                    consumer.Release();
                    model.Release();
                    break;
            }
        }
    }

    private static byte[] Message(int sequence, int size)
    {
        byte[] m = new byte[size];
        new Random(sequence).NextBytes(m);
        return m;
    }

    /// <summary>The spec, written plainly: positions, alignment, padding at the wrap.</summary>
    private sealed class Model
    {
        private readonly Queue<(byte[] Message, int Type, long End)> _published = new();
        private readonly List<(byte[] Message, int Type, long End)> _committed = [];
        // The producer's session-start record comes first (consumed when the consumer joins).
        private long _tail = RingLayout.SessionStartRecordSize, _readPosition, _released;

        public long Published { get; private set; } = RingLayout.SessionStartRecordSize;

        public bool Fits(int size)
        {
            long record = RingLayout.Align(size + 8);
            long toEnd = Capacity - _tail % Capacity;
            long required = (toEnd < record ? toEnd : 0) + record;
            return required <= Capacity - (_tail - _released);
        }

        public void Commit(byte[] message, int type)
        {
            long record = RingLayout.Align(message.Length + 8);
            long toEnd = Capacity - _tail % Capacity;
            _tail += (toEnd < record ? toEnd : 0) + record;
            _committed.Add((message, type, _tail));
        }

        public void Publish()
        {
            foreach (var c in _committed) _published.Enqueue(c);
            _committed.Clear();
            Published = _tail;
        }

        public bool TryRead(out byte[] message, out int type)
        {
            // The consumer's first read joins the session and releases its start record at once.
            if (_readPosition == 0) _readPosition = _released = RingLayout.SessionStartRecordSize;
            if (!_published.TryDequeue(out var next)) { message = []; type = 0; return false; }
            (message, type, _readPosition) = (next.Message, next.Type, next.End);
            return true;
        }

        public void Release() => _released = _readPosition;
    }
}
