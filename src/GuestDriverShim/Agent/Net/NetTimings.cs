namespace Ivshmem.Agent.Net;

/// <summary>
/// The clocks of <c>ivshmem-agent net</c>. A peer's routes must go within a second of it stopping
/// (docs/guest.md, "How net works"); the limits below add up to well under that, and leave
/// room for a guest under software emulation that is not scheduled for a few hundred milliseconds.
/// </summary>
internal static class NetTimings
{
    /// <summary>How often each side says it is alive (NetHeartbeat) to a peer whose net answers.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>A peer not heard from for this long gets heartbeats only every
    /// <see cref="SilentPeerHeartbeat"/> (its ring would fill with them if its net never comes back).
    /// Far above <see cref="SilenceLimit"/>: two sides that both slow down must not keep each other slow.</summary>
    public static readonly TimeSpan SilentPeerAfter = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan SilentPeerHeartbeat = TimeSpan.FromSeconds(1);

    /// <summary>A peer not heard from for this long is down: its routes go. Four heartbeats missed:
    /// with the time since the last one and a loaded machine's scheduling, the routes go well within
    /// the second (measured 0.5 to 0.8 s at 0.5 s here, under load); a side that is not scheduled
    /// for this long only moves its traffic to the network for a moment.</summary>
    public static readonly TimeSpan SilenceLimit = TimeSpan.FromMilliseconds(400);

    /// <summary>A ring to a peer that stays full this long with nothing read from it marks the peer
    /// stalled: its routes go and its packets are dropped until it reads again. The only wait that can
    /// hold up the packets to the other peers, so it is short.</summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the control loop looks at the peer table, the peers' state and the routes.</summary>
    public static readonly TimeSpan ControlTick = TimeSpan.FromMilliseconds(50);

    /// <summary>How often this machine's addresses are read again (without --address).</summary>
    public static readonly TimeSpan AddressRescan = TimeSpan.FromSeconds(1);

    /// <summary>A peer that does not confirm our announcement gets it again this often.</summary>
    public static readonly TimeSpan Reannounce = TimeSpan.FromSeconds(1);

    /// <summary>A peer whose routes the kernel refused is tried again after this (or when it
    /// announces again).</summary>
    public static readonly TimeSpan RouteRetry = TimeSpan.FromSeconds(5);

    /// <summary>How long a failure of the region waits for the device's watch to say the device is
    /// going away before it counts as a failure: the watch looks at sysfs every second.</summary>
    public static readonly TimeSpan DeviceGoneGrace = TimeSpan.FromMilliseconds(1500);

    /// <summary>After removing its routes at the end, how long this side still delivers what peers sent
    /// before they saw its bye.</summary>
    public static readonly TimeSpan DrainOnStop = TimeSpan.FromMilliseconds(100);
}
