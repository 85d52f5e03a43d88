using Ivshmem.Ring;

namespace Ivshmem.Daemon.Tests.Soak;

/// <summary>
/// The soak's data: chunk i is a window of a random pattern at an offset that depends on i, so every
/// chunk differs from its neighbours and the reader can check each one without keeping what was sent:
/// a lost, repeated, reordered or altered chunk is a mismatch. The byte count is checked again by the
/// ring stream's end record (docs/ring.md, "Sessions"). One <see cref="RingStream"/> per side carries
/// both directions: a writer thread and a reader thread.
/// </summary>
internal sealed class PatternStream
{
    public const int ChunkSize = 1 << 20;
    private readonly byte[] _pattern = new byte[2 * ChunkSize];

    public PatternStream(int seed) => new Random(seed).NextBytes(_pattern);

    private ReadOnlySpan<byte> Chunk(long index) => _pattern.AsSpan((int)(index * 7919 * 64 % ChunkSize), ChunkSize);

    /// <summary>Writes chunks until <paramref name="stop"/> says so (checked between chunks), then ends
    /// the stream; returns the bytes written.</summary>
    public long Write(RingStream stream, Func<long, bool> stop)
    {
        long chunks = 0;
        while (!stop(chunks * ChunkSize)) stream.Write(Chunk(chunks++));
        stream.CompleteWriting();
        return chunks * ChunkSize;
    }

    /// <summary>Reads to the end of the stream; returns the bytes read and how many chunks differed
    /// from what was sent.</summary>
    public (long Bytes, long BadChunks) Read(RingStream stream)
    {
        byte[] buffer = new byte[ChunkSize];
        long chunks = 0, bad = 0;
        while (true)
        {
            int filled = stream.ReadAtLeast(buffer, ChunkSize, throwOnEndOfStream: false);
            if (filled == 0) break;
            if (filled != ChunkSize || !buffer.AsSpan().SequenceEqual(Chunk(chunks))) bad++;
            chunks++;
            if (filled != ChunkSize) break;
        }
        return (chunks * ChunkSize, bad);
    }
}
