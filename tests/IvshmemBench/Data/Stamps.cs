using System.Runtime.CompilerServices;

namespace Ivshmem.Bench.Data;

/// <summary>
/// Inline verification that costs (almost) nothing: the data is random bytes, and the first 8 bytes
/// of every 4 KiB block of a transfer are replaced by a stamp naming the transfer (its repeat number)
/// and the block's position in the stream. The sender stamps each chunk just before sending it; the
/// receiver checks every stamp as soon as it holds it. A lost, repeated, reordered or stale block (one
/// from an earlier transfer) fails its stamp. The bytes between stamps are compared by a full
/// checksum outside the timed window (see docs/benchmarks/README.md).
/// </summary>
internal static unsafe class Stamps
{
    public const int BlockSize = 4096;
    public const int StampSize = 8;

    private const ulong Salt = 0xA5C3_0000_0000_0000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong For(int repeat, long block) => Salt ^ ((ulong)(uint)repeat << 36) ^ (ulong)block;

    /// <summary>Stamps the blocks that start in stream positions [position, position + length) of a
    /// transfer of <paramref name="size"/> bytes, whose bytes lie at <paramref name="at"/>.</summary>
    public static void Write(byte* at, long position, long length, long size, int repeat)
    {
        long first = FirstBlockAtOrAfter(position);
        long end = Math.Min(position + length, size - StampSize + 1);
        for (long p = first * BlockSize; p < end; p += BlockSize)
            *(ulong*)(at + (p - position)) = For(repeat, p / BlockSize);
    }

    /// <summary>Checks the stamps of the blocks that start in [position, position + length), reading the
    /// bytes at <paramref name="at"/>; returns the first wrong block's position, or -1.</summary>
    public static long Check(byte* at, long position, long length, long size, int repeat)
    {
        long first = FirstBlockAtOrAfter(position);
        long end = Math.Min(position + length, size - StampSize + 1);
        for (long p = first * BlockSize; p < end; p += BlockSize)
            if (*(ulong*)(at + (p - position)) != For(repeat, p / BlockSize)) return p;
        return -1;
    }

    private static long FirstBlockAtOrAfter(long position) => (position + BlockSize - 1) / BlockSize;
}

/// <summary>
/// Checks stamps as a copying receiver's data arrives in its window, whatever the sizes of its reads:
/// a block is checked once its whole stamp has arrived.
/// </summary>
internal unsafe struct StampChecker
{
    private long _next;

    public StampChecker() => _next = 0;

    /// <summary>The transfer's bytes [0, <paramref name="received"/>) have arrived in
    /// <paramref name="window"/> (position p at p mod its length). Returns the position of the first
    /// block with a wrong stamp, or -1.</summary>
    public long Advance(Window window, long received, int repeat)
    {
        byte* start = window.Pointer;
        long length = window.Length;
        while (_next + Stamps.StampSize <= received)
        {
            if (*(ulong*)(start + _next % length) != Stamps.For(repeat, _next / Stamps.BlockSize)) return _next;
            _next += Stamps.BlockSize;
        }
        return -1;
    }
}
