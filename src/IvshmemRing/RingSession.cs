namespace Ivshmem.Ring;

/// <summary>
/// Sessions keep a ring's old data away from a new reader. A producer opens a ring with a fresh
/// session id: the high 32 bits name the consumer it writes for (the epoch of the consumer's slot in
/// the peer table), the low 32 bits are random. It stores the tail at which the session begins and
/// then the id. A consumer joins only a session addressed to its own epoch, and starts reading at that
/// session's start, so records written for an earlier peer in the same slot, or by an earlier open,
/// are skipped, whichever side opens first.
/// </summary>
public static class RingSession
{
    /// <summary>A new session id for a producer writing to the consumer whose slot epoch is
    /// <paramref name="consumerEpoch"/>.</summary>
    public static ulong New(uint consumerEpoch)
    {
        // Random.Shared, not RandomNumberGenerator: the nonce only has to differ between opens, and
        // on Linux RandomNumberGenerator needs OpenSSL, which a minimal guest (NativeAOT agent in an
        // initramfs) does not have. Random.Shared is seeded from the kernel without it.
        uint nonce = (uint)Random.Shared.NextInt64(1, 1L << 32);
        return ((ulong)consumerEpoch << 32) | nonce;
    }

    public static uint ConsumerEpoch(ulong session) => (uint)(session >> 32);
}
