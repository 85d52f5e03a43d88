using System.Runtime.InteropServices;
using Ivshmem.Bench.Native;

namespace Ivshmem.Bench.Data;

/// <summary>
/// A page-aligned native buffer that a sender sends from or a receiver receives into. A transfer
/// larger than the window cycles through it: stream position p lives at p mod Length, the way any
/// streaming receiver reuses its buffer. Faulted in when created, so no page fault is timed.
/// </summary>
internal sealed unsafe class Window : IDisposable
{
    private byte* _pointer;

    public Window(long length, bool randomContent)
    {
        if (length <= 0 || length % Stamps.BlockSize != 0)
            throw new ArgumentOutOfRangeException(nameof(length), $"window of {length} bytes: it must be a positive multiple of {Stamps.BlockSize}");
        Length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
        Posix.Prefault(_pointer, length);
        if (randomContent)
        {
            var random = new Random(20130101);
            for (long done = 0; done < length; done += int.MaxValue / 2)
                random.NextBytes(new Span<byte>(_pointer + done, (int)Math.Min(length - done, int.MaxValue / 2)));
        }
        else
        {
            NativeMemory.Clear(_pointer, (nuint)length);
        }
    }

    public long Length { get; }

    public byte* Pointer => _pointer;

    /// <summary>The bytes of the window at [offset, offset + length).</summary>
    public Span<byte> Span(long offset, int length)
    {
        if ((ulong)offset > (ulong)Length || (ulong)length > (ulong)(Length - offset))
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside a window of {Length} bytes");
        return new Span<byte>(_pointer + offset, length);
    }

    /// <summary>Size of the window for transfers of up to <paramref name="largestTransfer"/> bytes.</summary>
    public static long SizeFor(long largestTransfer, long limit) =>
        Math.Max(Stamps.BlockSize, Math.Min(RoundUp(largestTransfer, Stamps.BlockSize), limit));

    public void Dispose()
    {
        byte* p = _pointer;
        _pointer = null;
        if (p != null) NativeMemory.AlignedFree(p);
    }

    private static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;
}
