namespace Ivshmem.Ring;

/// <summary>
/// Region layout, version 1: the format of one ivshmem shared memory region. Everything a peer needs
/// to find its rings is computed from two numbers, the region size and the slot count, so offsets are
/// never read from (untrusted) shared memory: the header only repeats them, and a peer that attaches
/// checks that the repetition matches.
/// <code>
/// All integers little-endian. Offsets in bytes. "Index" = from the start of the region.
///
/// Region (size: a power of two, 64 KiB .. 2^40)
/// +--------------------------------------+ 0
/// | Header                      256 B    |
/// |   0  u64 magic  "IVSHRNG1" 0x31474E5248535649 (written last when formatting)
/// |   8  u32 layout version (1)          |
/// |  12  u32 slot count (2..64)          |
/// |  16  u64 region size                 |
/// |  24  u32 header size (HeaderSize)    |
/// |  28  u32 ring count = slots*(slots-1)|
/// |  32  u64 ring capacity (data bytes)  |
/// |  40  u64 ring stride = 256 + capacity|
/// |  48  u64 format id (random, nonzero) |
/// |  56  u64 peer table generation: +1 on every change of any slot (written by the daemon)
/// +--------------------------------------+ 256
/// | Peer table: one 128 B entry per slot |  see PeerTable
/// +--------------------------------------+ HeaderSize = align4096(256 + 128 * slots)
/// | Ring 0  (from slot 0 to slot 1)      |
/// | Ring 1  (from slot 0 to slot 2) ...  |  ring r = (from, to): r = from*(slots-1) + (to &lt; from ? to : to-1)
/// | Ring n-1                             |  each ring: RingLayout (256 B control + capacity data)
/// +--------------------------------------+ HeaderSize + ringCount * stride (&lt;= region size)
/// </code>
/// The capacity is the largest multiple of 128 that fits, so every ring and every ring's data start on
/// a 128-byte boundary, and with two slots each direction gets close to half of the region.
/// </summary>
public static class RegionLayout
{
    public const ulong Magic = 0x31474E5248535649; // "IVSHRNG1" in memory order
    public const int Version = 1;

    public const int MagicOffset = 0;
    public const int VersionOffset = 8;
    public const int SlotCountOffset = 12;
    public const int RegionSizeOffset = 16;
    public const int HeaderSizeOffset = 24;
    public const int RingCountOffset = 28;
    public const int RingCapacityOffset = 32;
    public const int RingStrideOffset = 40;
    public const int FormatIdOffset = 48;
    public const int PeerTableGenerationOffset = 56;

    public const int PeerTableOffset = 256;
    public const int PeerEntrySize = 128;

    public const int MinSlots = 2;
    public const int MaxSlots = 64;
    public const long MinRegionSize = 64 * 1024;
    public const long MaxRegionSize = 1L << 40;
    /// <summary>Smallest data area a ring may have; below it messages would be too small to be useful.</summary>
    public const long MinRingCapacity = 1024;
    /// <summary>Rings and their data areas start on this boundary (two cache lines: no false sharing
    /// with the neighbour even with adjacent-line prefetch).</summary>
    public const int Alignment = 128;

    /// <summary>The geometry for a region of <paramref name="regionSize"/> bytes with
    /// <paramref name="slots"/> peer slots; throws <see cref="ArgumentException"/> saying what is
    /// wrong and what would be valid.</summary>
    public static RegionGeometry Compute(long regionSize, int slots)
    {
        if (regionSize < MinRegionSize || regionSize > MaxRegionSize || (regionSize & (regionSize - 1)) != 0)
            throw new ArgumentException($"region size {regionSize} is not valid: it must be a power of two from {MinRegionSize} (64 KiB) to {MaxRegionSize} (1 TiB)", nameof(regionSize));
        if (slots < MinSlots || slots > MaxSlots)
            throw new ArgumentException($"slot count {slots} is not valid: it must be {MinSlots}..{MaxSlots}", nameof(slots));

        int headerSize = (int)AlignUp(PeerTableOffset + (long)PeerEntrySize * slots, 4096);
        int ringCount = slots * (slots - 1);
        long perRing = (regionSize - headerSize) / ringCount;
        long capacity = AlignDown(perRing - RingLayout.ControlSize, Alignment);
        if (capacity < MinRingCapacity)
            throw new ArgumentException($"a region of {regionSize} bytes is too small for {slots} slots: each of the {ringCount} rings would hold {Math.Max(capacity, 0)} bytes, at least {MinRingCapacity} are needed; use fewer slots or a larger region", nameof(regionSize));
        return new RegionGeometry(regionSize, slots, headerSize, ringCount, capacity, RingLayout.ControlSize + capacity);
    }

    internal static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);
    internal static long AlignDown(long value, long alignment) => value & ~(alignment - 1);
}

/// <summary>Where everything lies in one region; see <see cref="RegionLayout"/>.</summary>
public sealed record RegionGeometry(long RegionSize, int Slots, int HeaderSize, int RingCount, long RingCapacity, long RingStride)
{
    /// <summary>Index of the ring that carries messages from slot <paramref name="from"/> to slot <paramref name="to"/>.</summary>
    public int RingNumber(int from, int to)
    {
        if ((uint)from >= (uint)Slots || (uint)to >= (uint)Slots || from == to)
            throw new ArgumentOutOfRangeException(nameof(to), $"no ring from slot {from} to slot {to} in a region with {Slots} slots");
        return from * (Slots - 1) + (to < from ? to : to - 1);
    }

    public long RingIndex(int from, int to) => HeaderSize + RingNumber(from, to) * RingStride;

    public long PeerEntryIndex(int slot)
    {
        if ((uint)slot >= (uint)Slots) throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} does not exist; slots are 0..{Slots - 1}");
        return RegionLayout.PeerTableOffset + (long)slot * RegionLayout.PeerEntrySize;
    }

    /// <summary>The largest payload one record may carry in these rings (see <see cref="RingLayout.MaxPayloadFor"/>).</summary>
    public int MaxPayload => RingLayout.MaxPayloadFor(RingCapacity);
}
