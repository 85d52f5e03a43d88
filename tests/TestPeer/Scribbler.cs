using Ivshmem.Ring;

namespace Ivshmem.TestPeer;

/// <summary>
/// A hostile peer: for a while, writes random and targeted nasty values into the region header, the
/// peer table, both rings' control blocks and the record headers of the ring it produces on, while
/// the victim keeps sending and receiving.
/// </summary>
public static class Scribbler
{
    public static int Run(PeerArgs a)
    {
        using var mapping = MappedMemory.MapFile(a.Int("memfd"));
        SharedMemory memory = mapping.Memory;
        RegionGeometry g = RegionLayout.Compute(memory.Length, memory.ReadInt32(RegionLayout.SlotCountOffset));
        int slot = a.Int("slot"), victim = a.Int("peer");
        SharedMemory mine = memory.Slice(g.RingIndex(slot, victim), g.RingStride);      // victim consumes
        SharedMemory theirs = memory.Slice(g.RingIndex(victim, slot), g.RingStride);    // victim produces
        var random = new Random(a.Int("seed"));
        long until = Environment.TickCount64 + a.Long("duration-ms");
        long count = 0, legit = 0;
        RingProducer? producer = null;
        byte[] payload = new byte[300];
        while (Environment.TickCount64 < until)
        {
            // Half of the time behave: open a session addressed to the victim's current epoch and
            // publish well-formed records, so that corruption also hits records the victim is reading.
            if (random.Next(2) == 0)
            {
                try
                {
                    uint victimEpoch = (uint)memory.ReadInt32(g.PeerEntryIndex(victim) + 8);
                    if (producer is null || RingSession.ConsumerEpoch(producer.Session) != victimEpoch)
                        producer = new RingProducer(mine, RingSession.New(victimEpoch));
                    for (int i = 0; i < 20 && producer.TryWrite(payload.AsSpan(0, random.Next(payload.Length)), random.Next(1, 100)); i++) legit++;
                }
                catch (IvshmemException)
                {
                    producer = null;
                }
            }
            Scribble(random, memory, g, mine, theirs);
            count++;
            if ((count & 15) == 0) Thread.Sleep(1);
        }
        Console.WriteLine($"scribbled {count} legit {legit}");
        return 0;
    }

    private static void Scribble(Random r, SharedMemory region, RegionGeometry g, SharedMemory mine, SharedMemory theirs)
    {
        long capacity = g.RingCapacity;
        switch (r.Next(9))
        {
            case 0: mine.WriteInt64Release(RingLayout.TailOffset, NastyLong(r, capacity)); break;
            case 1: mine.WriteInt64Release(RingLayout.SessionStartOffset, NastyLong(r, capacity)); break;
            case 2: mine.WriteInt64Release(RingLayout.ProducerSessionOffset, r.NextInt64()); break;
            case 3: theirs.WriteInt64Release(RingLayout.HeadOffset, NastyLong(r, capacity)); break;
            case 4: theirs.WriteInt32Release(RingLayout.ConsumerWaitingOffset, r.Next(3)); break;
            case 5: // a record header in the ring the victim reads
                long index = r.NextInt64(capacity / 8) * 8;
                mine.WriteInt32(RingLayout.DataOffset + index + RingLayout.LengthOffset, NastyInt(r, capacity));
                if (r.Next(2) == 0) mine.WriteInt32(RingLayout.DataOffset + index + RingLayout.TypeOffset, r.Next(4) == 0 ? RingLayout.PaddingType : r.Next());
                break;
            case 6: region.WriteInt32(g.PeerEntryIndex(r.Next(g.Slots)) + 4 * r.Next(8), r.Next(4) == 0 ? r.Next() : r.Next(-2, 70)); break;
            case 7: region.WriteInt64(8 * r.Next(8), r.NextInt64()); break; // region header
            default: mine.WriteInt64Release(RingLayout.TailOffset, mine.ReadInt64(RingLayout.TailOffset) + r.Next(-64, 64)); break;
        }
    }

    private static long NastyLong(Random r, long capacity) => r.Next(8) switch
    {
        0 => -1,
        1 => long.MaxValue,
        2 => long.MinValue,
        3 => capacity * r.Next(1, 5),
        4 => r.NextInt64(),
        5 => r.Next(0, 1 << 20) * 8 + r.Next(2),
        _ => r.Next(-4096, 4096),
    };

    private static int NastyInt(Random r, long capacity) => r.Next(7) switch
    {
        0 => -1,
        1 => int.MaxValue,
        2 => int.MinValue,
        3 => (int)Math.Min(capacity, int.MaxValue) + r.Next(-16, 16),
        4 => r.Next(0, 8),
        5 => r.Next(),
        _ => r.Next(8, 4096),
    };
}
