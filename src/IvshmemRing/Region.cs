using System.Security.Cryptography;

namespace Ivshmem.Ring;

/// <summary>
/// A formatted region (layout v1, see <see cref="RegionLayout"/>) in some shared memory: its geometry,
/// its peer table, and the rings between its slots.
/// </summary>
public sealed class Region
{
    private Region(SharedMemory memory, RegionGeometry geometry, ulong formatId)
    {
        Memory = memory;
        Geometry = geometry;
        FormatId = formatId;
        Peers = new PeerTable(memory, geometry);
    }

    public SharedMemory Memory { get; }
    public RegionGeometry Geometry { get; }
    public PeerTable Peers { get; }

    /// <summary>Random id chosen when the region was formatted; a different id means new memory.</summary>
    public ulong FormatId { get; }

    /// <summary>
    /// Writes an empty layout v1 into <paramref name="memory"/> (all of it is the region): header,
    /// free peer table, rings at position 0. The magic is stored last, with release, so a peer that
    /// attaches concurrently sees either no region or a complete one.
    /// </summary>
    public static Region Format(SharedMemory memory, int slots)
    {
        RegionGeometry g = RegionLayout.Compute(memory.Length, slots);
        memory.WriteInt64Release(RegionLayout.MagicOffset, 0);
        memory.Clear(8, g.HeaderSize - 8);
        for (int r = 0; r < g.RingCount; r++)
            memory.Clear(g.HeaderSize + r * g.RingStride, RingLayout.ControlSize);

        ulong formatId = 0;
        while (formatId == 0) formatId = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

        WriteHeader(memory, g, formatId);
        return new Region(memory, g, formatId);
    }

    /// <summary>
    /// Takes a region this side formatted earlier back from what it kept privately (the slot count and
    /// the format id; the size is the mapping's): the header is rewritten from those, whatever peers
    /// wrote into it since, and nothing in it is read. The daemon does this on resume after a restart,
    /// so a guest that scribbled on the header cannot make the region be thrown away. The peer table
    /// and the rings are left as they are (the caller rewrites the table from its own state).
    /// </summary>
    public static Region Resume(SharedMemory memory, int slots, ulong formatId)
    {
        if (formatId == 0) throw new ArgumentOutOfRangeException(nameof(formatId), "format id 0 is never chosen");
        RegionGeometry g = RegionLayout.Compute(memory.Length, slots);
        WriteHeader(memory, g, formatId);
        return new Region(memory, g, formatId);
    }

    /// <summary>Writes the header again from this side's own geometry and format id (never read back):
    /// the daemon does it whenever a peer leaves, so a header a peer scribbled on does not outlive it.</summary>
    public void RewriteHeader() => WriteHeader(Memory, Geometry, FormatId);

    /// <summary>Clears the control block of ring <paramref name="from"/> -&gt; <paramref name="to"/>: an
    /// empty ring at position 0 with no session. Only for a ring neither of whose ends is in use (the
    /// daemon, when both slots are empty): a producer or consumer still running on it would find its
    /// positions gone.</summary>
    public void ResetRing(int from, int to)
    {
        if (from == to) throw new ArgumentOutOfRangeException(nameof(to), "a slot has no ring to itself");
        Memory.Clear(Geometry.RingIndex(from, to), RingLayout.ControlSize);
    }

    /// <summary>Every header field, the reserved bytes cleared, the magic last with release. The peer
    /// table generation is kept (readers only compare it).</summary>
    private static void WriteHeader(SharedMemory memory, RegionGeometry g, ulong formatId)
    {
        memory.Clear(RegionLayout.PeerTableGenerationOffset + 8, RegionLayout.PeerTableOffset - RegionLayout.PeerTableGenerationOffset - 8);
        memory.WriteInt32(RegionLayout.VersionOffset, RegionLayout.Version);
        memory.WriteInt32(RegionLayout.SlotCountOffset, g.Slots);
        memory.WriteInt64(RegionLayout.RegionSizeOffset, g.RegionSize);
        memory.WriteInt32(RegionLayout.HeaderSizeOffset, g.HeaderSize);
        memory.WriteInt32(RegionLayout.RingCountOffset, g.RingCount);
        memory.WriteInt64(RegionLayout.RingCapacityOffset, g.RingCapacity);
        memory.WriteInt64(RegionLayout.RingStrideOffset, g.RingStride);
        memory.WriteInt64(RegionLayout.FormatIdOffset, (long)formatId);
        memory.WriteInt64Release(RegionLayout.MagicOffset, (long)RegionLayout.Magic);
    }

    /// <summary>
    /// Attaches to a region someone else formatted. Every header field is checked against the
    /// geometry this side computes from the mapped size and the slot count; nothing in the header is
    /// used as an offset. Throws <see cref="RegionFormatException"/> naming the first bad field.
    /// </summary>
    public static Region Attach(SharedMemory memory)
    {
        if (memory.Length < RegionLayout.MinRegionSize)
            throw new RegionFormatException($"the mapped region is {memory.Length} bytes; a layout v1 region has at least {RegionLayout.MinRegionSize}");
        ulong magic = (ulong)memory.ReadInt64Acquire(RegionLayout.MagicOffset);
        if (magic == 0)
            throw new RegionFormatException("the region is not formatted yet (magic is 0): is the daemon that serves it running ivshmemd?");
        if (magic != RegionLayout.Magic)
            throw new RegionFormatException($"bad magic 0x{magic:X16} (expected 0x{RegionLayout.Magic:X16}, \"IVSHRNG1\"): this memory does not hold an ivshmemd region");
        int version = memory.ReadInt32(RegionLayout.VersionOffset);
        if (version != RegionLayout.Version)
            throw new RegionFormatException($"layout version {version} is not supported (this side speaks version {RegionLayout.Version})");
        long size = memory.ReadInt64(RegionLayout.RegionSizeOffset);
        if (size != memory.Length)
            throw new RegionFormatException($"the header says the region is {size} bytes but {memory.Length} are mapped");
        int slots = memory.ReadInt32(RegionLayout.SlotCountOffset);
        RegionGeometry g;
        try { g = RegionLayout.Compute(size, slots); }
        catch (ArgumentException e) { throw new RegionFormatException($"the header describes an impossible region: {e.Message}"); }
        Expect("header size", memory.ReadInt32(RegionLayout.HeaderSizeOffset), g.HeaderSize);
        Expect("ring count", memory.ReadInt32(RegionLayout.RingCountOffset), g.RingCount);
        Expect("ring capacity", memory.ReadInt64(RegionLayout.RingCapacityOffset), g.RingCapacity);
        Expect("ring stride", memory.ReadInt64(RegionLayout.RingStrideOffset), g.RingStride);
        ulong formatId = (ulong)memory.ReadInt64(RegionLayout.FormatIdOffset);
        return new Region(memory, g, formatId);
    }

    /// <summary>The memory of the ring from slot <paramref name="from"/> to slot <paramref name="to"/>
    /// (control block and data).</summary>
    public SharedMemory RingMemory(int from, int to) => Memory.Slice(Geometry.RingIndex(from, to), Geometry.RingStride);

    /// <summary>A human name for a ring in messages: "ring 0->1 (vm-a -> vm-b)".</summary>
    internal static string RingName(int from, int to, string? fromName = null, string? toName = null) =>
        fromName is null ? $"ring {from}->{to}" : $"ring {from}->{to} ({fromName} -> {toName})";

    private static void Expect(string field, long actual, long expected)
    {
        if (actual != expected)
            throw new RegionFormatException($"the header's {field} is {actual}, but a region of this size and slot count has {expected}");
    }
}
