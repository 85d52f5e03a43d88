using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Ivshmem.Ring;

/// <summary>
/// A window onto memory that another process or VM may write at any moment. Every pointer access of
/// the library goes through this one type; the names of its methods say which memory ordering they
/// give, so the publish protocol can be read straight off the call sites (Agrona's AtomicBuffer idea).
/// It does not own the memory: <see cref="MappedMemory"/> does.
/// </summary>
/// <remarks>
/// Indexes are bytes from <see cref="Pointer"/>. Callers pass indexes they computed themselves, never
/// values read from shared memory that were not validated first; debug builds assert the bounds.
/// x86-64 is little-endian and gives acquire/release for plain aligned loads and stores, so
/// <c>Volatile</c> costs only a compiler barrier there; the one full fence is <see cref="FullFence"/>.
/// </remarks>
public readonly unsafe struct SharedMemory
{
    private readonly byte* _pointer;

    public SharedMemory(byte* pointer, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (pointer == null && length != 0) throw new ArgumentNullException(nameof(pointer));
        _pointer = pointer;
        Length = length;
    }

    public long Length { get; }

    public byte* Pointer => _pointer;

    public bool IsEmpty => Length == 0;

    /// <summary>A sub-window; checked, because it is only used when structures are set up.</summary>
    public SharedMemory Slice(long offset, long length)
    {
        if ((ulong)offset > (ulong)Length || (ulong)length > (ulong)(Length - offset))
            throw new ArgumentOutOfRangeException(nameof(offset), $"slice [{offset}, +{length}) is outside a window of {Length} bytes");
        return new SharedMemory(_pointer + offset, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadInt64Acquire(long index) => Volatile.Read(ref *(long*)At(index, 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt64Release(long index, long value) => Volatile.Write(ref *(long*)At(index, 8), value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadInt64(long index) => *(long*)At(index, 8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt64(long index, long value) => *(long*)At(index, 8) = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadInt32Acquire(long index) => Volatile.Read(ref *(int*)At(index, 4));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt32Release(long index, int value) => Volatile.Write(ref *(int*)At(index, 4), value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadInt32(long index) => *(int*)At(index, 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt32(long index, int value) => *(int*)At(index, 4) = value;

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="index"/>. The peer may
    /// change these bytes while the caller reads them: copy before trusting their content.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Span(long index, int length) => new(At(index, length), length);

    public void Clear(long index, long length)
    {
        At(index, length);
        for (long done = 0; done < length;)
        {
            int chunk = (int)Math.Min(length - done, int.MaxValue);
            new Span<byte>(_pointer + index + done, chunk).Clear();
            done += chunk;
        }
    }

    /// <summary>
    /// A full (store-load) fence. The wake-up handshake is Dekker's: one side stores its position and
    /// then loads the other's "I am going to sleep" flag, the other stores the flag and then loads the
    /// position. Without a store-load fence on both sides each can miss the other's store and the
    /// sleeper is never woken (virtio's event suppression needs the same virtio_mb()). It is paid once
    /// per publish or release, never per record, and not at all in polling mode.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FullFence() => Interlocked.MemoryBarrier();

    /// <summary>
    /// Keeps every load before it ahead of every load after it. A seqlock reader needs this between
    /// reading the fields and re-reading the sequence: an acquire load keeps later loads after it, but
    /// here earlier loads must stay before it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadFence() => Interlocked.MemoryBarrier();

    /// <summary>
    /// Keeps every store before it ahead of every store after it. A seqlock writer needs this between
    /// making the sequence odd and changing the fields (x86 orders stores anyway; the fence keeps the
    /// JIT and weaker CPUs honest).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreFence() => Interlocked.MemoryBarrier();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* At(long index, long size)
    {
        Debug.Assert(index >= 0 && size >= 0 && index <= Length - size, $"access [{index}, +{size}) outside {Length} bytes");
        return _pointer + index;
    }
}
