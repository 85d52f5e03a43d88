namespace Ivshmem.Ring;

/// <summary>
/// One record read in place from shared memory. The payload stays valid until the consumer's next
/// <see cref="RingConsumer.Release"/>; the peer may still scribble on it, so validate what you parse.
/// </summary>
public readonly ref struct RingRecord
{
    public RingRecord(ReadOnlySpan<byte> payload, int type)
    {
        Payload = payload;
        Type = type;
    }

    public ReadOnlySpan<byte> Payload { get; }
    public int Type { get; }
}
