using Ivshmem.Ring;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// A ring between two inaccessible pages: any read or write outside it kills the test process. Thousands
/// of random and targeted corruptions of the control block and record headers: the consumer and the
/// producer only ever return normally or throw <see cref="RingCorruptedException"/>.
/// </summary>
public unsafe class GuardedRingTests
{
    private const int Page = 4096;
    private const int RingBytes = 4 * Page;                       // 256 control + 16128 data
    private static readonly long Capacity = RingBytes - RingLayout.ControlSize;

    private sealed class GuardedRing : IDisposable
    {
        private readonly byte* _base;

        public GuardedRing()
        {
            _base = (byte*)mmap(null, (size_t)(ulong)(RingBytes + 2 * Page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            Assert.True(_base != MAP_FAILED);
            Assert.Equal(0, mprotect(_base, Page, PROT_NONE));
            Assert.Equal(0, mprotect(_base + Page + RingBytes, Page, PROT_NONE));
            Memory = new SharedMemory(_base + Page, RingBytes);
        }

        public SharedMemory Memory { get; }

        public void Dispose() => munmap(_base, (size_t)(ulong)(RingBytes + 2 * Page));
    }

    [Fact]
    public void ACorruptedProducerSideNeverMakesTheConsumerLeaveItsRing()
    {
        var random = new Random(20261123);
        int corrupted = 0, clean = 0;
        for (int round = 0; round < 5000; round++)
        {
            using var ring = new GuardedRing();
            var producer = new RingProducer(ring.Memory, RingSession.New(1));
            var consumer = new RingConsumer(ring.Memory, 1);
            // Honest traffic first, at a random place in the ring.
            for (int i = random.Next(40); i > 0; i--)
            {
                if (!producer.TryWrite(new byte[random.Next(producer.MaxPayload + 1)], random.Next(100))) break;
                if (random.Next(2) == 0) { while (consumer.TryRead(out _)) { } consumer.Release(); }
            }
            for (int i = random.Next(1, 4); i > 0; i--) Corrupt(random, ring.Memory, consumer.Position);
            try
            {
                for (int reads = 0; reads < 1000 && consumer.TryRead(out RingRecord r); reads++)
                    _ = r.Payload.Length > 0 ? r.Payload[^1] : 0; // touch the last byte: it must be inside
                consumer.Release();
                clean++;
            }
            catch (RingCorruptedException)
            {
                corrupted++;
                Assert.Throws<RingCorruptedException>(() => consumer.TryRead(out _)); // stays closed
            }
        }
        Assert.True(corrupted > 1000, $"only {corrupted} of 5000 corruptions were detected");
        Console.WriteLine($"consumer: {corrupted} corrupted, {clean} clean");
    }

    [Fact]
    public void ACorruptedConsumerSideNeverMakesTheProducerLeaveItsRing()
    {
        var random = new Random(7);
        int corrupted = 0;
        for (int round = 0; round < 5000; round++)
        {
            using var ring = new GuardedRing();
            var producer = new RingProducer(ring.Memory, RingSession.New(1));
            var consumer = new RingConsumer(ring.Memory, 1);
            for (int i = random.Next(40); i > 0; i--)
            {
                if (!producer.TryWrite(new byte[random.Next(producer.MaxPayload + 1)])) break;
                if (random.Next(2) == 0) { while (consumer.TryRead(out _)) { } consumer.Release(); }
            }
            ring.Memory.WriteInt64(RingLayout.HeadOffset, random.Next(6) switch
            {
                0 => -8,
                1 => producer.Position + 8,
                2 => long.MaxValue,
                3 => random.NextInt64(),
                4 => producer.Position - Capacity - 8,
                _ => random.NextInt64(-2 * Capacity, 2 * Capacity),
            });
            try
            {
                for (int i = 0; i < 200; i++)
                    if (producer.TryClaim(random.Next(producer.MaxPayload + 1), out Span<byte> span)) { span.Fill(1); producer.Commit(); }
                producer.Publish();
            }
            catch (RingCorruptedException) { corrupted++; }
        }
        Assert.True(corrupted > 1000, $"only {corrupted} of 5000 corruptions were detected");
    }

    private static void Corrupt(Random r, SharedMemory ring, long consumerPosition)
    {
        long data = RingLayout.DataOffset;
        long index = consumerPosition % Capacity;
        switch (r.Next(7))
        {
            case 0: ring.WriteInt64(RingLayout.TailOffset, r.Next(3) switch { 0 => -8, 1 => long.MaxValue, _ => r.NextInt64(-4 * Capacity, 4 * Capacity) }); break;
            case 1: ring.WriteInt64(RingLayout.TailOffset, consumerPosition + r.Next(1, 8)); break;          // not on a record boundary
            case 2: ring.WriteInt32(data + index, r.Next(4) switch { 0 => -1, 1 => int.MaxValue, 2 => r.Next(0, 8), _ => r.Next() }); break;
            case 3: ring.WriteInt32(data + index + 4, RingLayout.PaddingType); ring.WriteInt32(data + index, r.Next(8, 4096) & ~7); break;
            case 4: ring.WriteInt32(data + index, (int)(Capacity - index) + 8); break;                       // runs past the end
            case 5: ring.WriteInt32(data + r.NextInt64(Capacity / 8) * 8, r.Next()); break;                  // anywhere
            default: ring.WriteInt64(RingLayout.TailOffset, ring.ReadInt64(RingLayout.TailOffset) + Capacity + 8); break; // too far ahead
        }
        if (r.Next(2) == 0 && ring.ReadInt64(RingLayout.TailOffset) == consumerPosition)
            ring.WriteInt64(RingLayout.TailOffset, consumerPosition + 8 * r.Next(1, 100));
    }
}
