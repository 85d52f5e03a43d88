namespace Ivshmem.Daemon.Server;

/// <summary>
/// One direction of one pair of slots (the ring from <see cref="FromSlot"/> to <see cref="ToSlot"/>)
/// as the daemon last sampled it. Head and tail come from shared memory that any peer may write, so
/// they are shown only after <see cref="RingSampler"/> checked them: when <see cref="Problem"/> is
/// set, the positions are raw and the derived values (bytes, fill, rate) are zero.
/// </summary>
/// <param name="From">The producer's peer name, or "slot N" when the slot is empty now.</param>
/// <param name="To">The consumer's peer name, or "slot N".</param>
/// <param name="Capacity">Data bytes of the ring (from the geometry, not from shared memory).</param>
/// <param name="Problem">Why the positions are impossible ("invalid: tail &lt; head"), or null.</param>
/// <param name="Head">The consumer's head: bytes ever released (records, headers and padding).</param>
/// <param name="Tail">The producer's tail: bytes ever published.</param>
/// <param name="Released">Bytes of records (headers and payload) the consumer released: the head
/// less the padding records it includes (a producer pads at every wrap, and wraps early to stay in
/// the caches: docs/ring.md, "The hot window").</param>
/// <param name="BytesPerSecond">How fast <paramref name="Released"/> grew between the last two samples; null after
/// the first sample of this ring and after an invalid one.</param>
/// <param name="LastMovement">When a sample last saw the head or the tail change; null when no sample
/// did (since <paramref name="ObservedSince"/>).</param>
/// <param name="ObservedSince">When the daemon first sampled this ring.</param>
public sealed record RingStatus(
    int FromSlot,
    int ToSlot,
    string From,
    string To,
    long Capacity,
    string? Problem,
    ulong Head,
    ulong Tail,
    ulong Released,
    double? BytesPerSecond,
    DateTimeOffset? LastMovement,
    DateTimeOffset ObservedSince)
{
    public bool Valid => Problem is null;

    /// <summary>Bytes that went through the ring: <see cref="Released"/> (0 when invalid).</summary>
    public long Bytes => Valid ? (long)Released : 0;

    /// <summary>Published and not yet released (0 when invalid).</summary>
    public long Fill => Valid && Tail >= Head ? (long)(Tail - Head) : 0;
}

/// <summary>The rings of every region at one sampling, by region name. Immutable: published by the
/// loop thread, read by the control socket and the metrics writer.</summary>
public sealed record RingSnapshot(DateTimeOffset At, IReadOnlyDictionary<string, IReadOnlyList<RingStatus>> Regions)
{
    public static RingSnapshot Empty { get; } = new(DateTimeOffset.MinValue, new Dictionary<string, IReadOnlyList<RingStatus>>());

    public IReadOnlyList<RingStatus> RingsOf(string region) => Regions.TryGetValue(region, out var rings) ? rings : [];
}
