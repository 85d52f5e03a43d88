namespace Ivshmem.Ring;

/// <summary>How a channel waits for data or space.</summary>
public enum WaitMode
{
    /// <summary>Spin for a while (between <see cref="RingChannelOptions.SpinDuration"/> and
    /// <see cref="RingChannelOptions.MaxSpinDuration"/>, adapted to how long waits last), then announce
    /// sleep and block on the doorbell. Fast while the peer is active, free while it is idle. The
    /// default.</summary>
    SpinThenBlock,

    /// <summary>Block on the doorbell at once: least CPU, most latency.</summary>
    Block,

    /// <summary>Never sleep: lowest latency, one core burnt while waiting. Timeouts and peer checks
    /// still apply, so a dead peer is noticed.</summary>
    BusyPoll,
}

/// <summary>Tuning of a <see cref="RingChannel"/>; the defaults suit most uses.</summary>
public sealed record RingChannelOptions
{
    public static RingChannelOptions Default { get; } = new();

    public WaitMode WaitMode { get; init; } = WaitMode.SpinThenBlock;

    /// <summary>How long to spin before blocking in <see cref="WaitMode.SpinThenBlock"/> at least, and
    /// at first: about the cost of one sleep and wake-up, so spinning never costs much more than the
    /// sleep it may save (docs/ring.md, "The spin budget").</summary>
    public TimeSpan SpinDuration { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>The longest spin before blocking in <see cref="WaitMode.SpinThenBlock"/>. The spin grows
    /// towards it while waits that slept would have ended within it, and shrinks back to
    /// <see cref="SpinDuration"/> when waits outlast it (docs/ring.md, "The spin budget"). Set it to
    /// <see cref="SpinDuration"/> for a fixed spin.</summary>
    public TimeSpan MaxSpinDuration { get; init; } = TimeSpan.FromMicroseconds(200);

    /// <summary>An operation that waits longer than this for the peer throws
    /// <see cref="TimeoutException"/>. <see cref="Timeout.InfiniteTimeSpan"/> waits forever (a peer that
    /// leaves is still noticed through the peer table).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a waiting side checks that its peer is still there. The daemon rings the
    /// control vector when a peer leaves, so this is only the bound when that ring is missed.</summary>
    public TimeSpan PeerCheckInterval { get; init; } = TimeSpan.FromMilliseconds(100);
}
