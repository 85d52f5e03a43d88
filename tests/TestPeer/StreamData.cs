namespace Ivshmem.TestPeer;

/// <summary>
/// Reproducible test streams: the bytes come from a seeded xorshift generator and so do the sizes of
/// the writes (1 byte to 256 KiB), so both processes agree on the data without exchanging it.
/// </summary>
public sealed class StreamData
{
    private ulong _state;
    private readonly Random _sizes;

    public StreamData(long seed)
    {
        _state = (ulong)seed * 0x9E3779B97F4A7C15UL | 1;
        _sizes = new Random(unchecked((int)seed));
    }

    public int NextChunkSize(int max = 256 * 1024) => _sizes.Next(4) == 0 ? _sizes.Next(1, 64) : _sizes.Next(1, max + 1);

    public void Fill(Span<byte> buffer)
    {
        int i = 0;
        for (; i + 8 <= buffer.Length; i += 8)
            BitConverter.TryWriteBytes(buffer[i..], Next());
        ulong last = Next();
        for (; i < buffer.Length; i++, last >>= 8) buffer[i] = (byte)last;
    }

    private ulong Next()
    {
        _state ^= _state << 13;
        _state ^= _state >> 7;
        _state ^= _state << 17;
        return _state;
    }
}
