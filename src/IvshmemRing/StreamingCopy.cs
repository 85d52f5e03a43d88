using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ivshmem.Ring;

/// <summary>
/// A copy whose stores bypass the caches (non-temporal stores), for a reader that fills a destination
/// too large for any cache to keep until it is used. An ordinary store first fetches the line it
/// writes (a read from memory the copy then overwrites); a non-temporal store writes whole lines
/// without that read, so copying out of the ring, whose lines are in the caches, into a cold
/// destination moves one third less through the memory bus. The platform's memmove makes the same
/// choice by size, with a limit computed from the cache it is told of (docs/ring.md, "The copy
/// ceiling"). Only the stream's copy out uses this: the copy in writes the ring, which the reader is
/// about to read, and must stay in the caches.
/// </summary>
internal static unsafe class StreamingCopy
{
    /// <summary>A read into a buffer at least this large copies with non-temporal stores: larger than
    /// a core's own caches many times over, so by the time the caller reads the start of the buffer,
    /// ordinary stores would have left it in memory anyway. Below it (Stream.CopyTo's 80 KiB, a
    /// message buffer) the bytes stay in the cache for the reader.</summary>
    internal const int ReadThreshold = 8 * 1024 * 1024;

    private const int LineBytes = 64;

    /// <summary>Whether this CPU has the stores; elsewhere <see cref="Copy"/> copies as usual.</summary>
    internal static bool IsSupported => Sse2.IsSupported;

    /// <summary>Copies <paramref name="source"/> to the start of <paramref name="destination"/>, the
    /// whole lines of the destination with non-temporal stores and its partial first and last line
    /// as usual. The stores are weakly ordered: call <see cref="Fence"/> before anyone else may look
    /// at the destination. Compiled optimized from its first call: the vector loop in the runtime's
    /// first, unoptimized tier runs at a fraction of a memmove's pace, and a stream's reader calls it
    /// for a long while before the runtime would recompile it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (!IsSupported || source.Length < 2 * LineBytes)
        {
            source.CopyTo(destination);
            return;
        }
        if (destination.Length < source.Length) throw new ArgumentException("the destination is shorter than the source", nameof(destination));
        fixed (byte* from = source)
        fixed (byte* to = destination)
        {
            nuint length = (nuint)source.Length;
            nuint head = (nuint)(-(nint)to) & (LineBytes - 1);
            Buffer.MemoryCopy(from, to, head, head);
            nuint end = head + (length - head) / LineBytes * LineBytes;
            if (Avx.IsSupported)
            {
                for (nuint i = head; i < end; i += LineBytes)
                {
                    Vector256<byte> a = Vector256.Load(from + i);
                    Vector256<byte> b = Vector256.Load(from + i + 32);
                    Avx.StoreAlignedNonTemporal(to + i, a);
                    Avx.StoreAlignedNonTemporal(to + i + 32, b);
                }
            }
            else
            {
                for (nuint i = head; i < end; i += LineBytes)
                {
                    Vector128<byte> a = Vector128.Load(from + i);
                    Vector128<byte> b = Vector128.Load(from + i + 16);
                    Vector128<byte> c = Vector128.Load(from + i + 32);
                    Vector128<byte> d = Vector128.Load(from + i + 48);
                    Sse2.StoreAlignedNonTemporal(to + i, a);
                    Sse2.StoreAlignedNonTemporal(to + i + 16, b);
                    Sse2.StoreAlignedNonTemporal(to + i + 32, c);
                    Sse2.StoreAlignedNonTemporal(to + i + 48, d);
                }
            }
            Buffer.MemoryCopy(from + end, to + end, length - end, length - end);
        }
    }

    /// <summary>Orders the non-temporal stores before every later store (the memmove that uses them
    /// ends the same way), so a caller that hands the buffer to another thread needs nothing more.</summary>
    internal static void Fence()
    {
        if (IsSupported) Sse.StoreFence();
    }
}
