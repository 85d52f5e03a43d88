using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Net;

/// <summary>
/// What the three threads of <c>net</c> share: the endpoint and TUN device, this run's instance, and
/// the snapshots the control loop publishes for the packet threads (the links, which peer each
/// destination address belongs to, our own addresses, our announcement). A snapshot is replaced
/// whole, never changed in place, so a packet thread reads one with a single volatile load and
/// allocates nothing.
/// </summary>
internal sealed class NetPlane(IvshmemEndpoint endpoint, PeerEntry self, TunDevice tun, ulong instance, WaitMode waitMode, SemaphoreSlim controlWake) : IDisposable
{
    public IvshmemEndpoint Endpoint { get; } = endpoint;
    public PeerEntry Self { get; } = self;
    public TunDevice Tun { get; } = tun;
    public ulong Instance { get; } = instance;
    public WaitMode WaitMode { get; } = waitMode;

    public volatile PeerLink[] Links = [];

    /// <summary>Destination address to the peer that owns it, for every peer that is up.</summary>
    public volatile Dictionary<UInt128, PeerLink> Destinations = [];

    /// <summary>The peer that is up when exactly one is (the sender reads into its ring directly).</summary>
    public volatile PeerLink? SoleUpLink;

    /// <summary>The addresses this side announced: what packets from peers may be sent to.</summary>
    public volatile HashSet<UInt128> LocalAddresses = [];

    /// <summary>This side's NetAnnounce payload.</summary>
    public volatile byte[] Announcement = [];

    /// <summary>Packets read from the TUN device for an address no peer owns (or not IP at all).</summary>
    public long Unroutable;

    /// <summary>What each packet thread has allocated so far (GC.GetAllocatedBytesForCurrentThread,
    /// stored after every batch): 'net status' shows it, so that the packet path allocating nothing
    /// per packet can be checked from outside.</summary>
    public long SenderAllocated;
    public long ReceiverAllocated;

    /// <summary>The sender stops (after saying bye); then the receiver.</summary>
    public volatile bool SenderStop;
    public volatile bool ReceiverStop;

    /// <summary>Set with <see cref="SenderStop"/> when the device is being unplugged: the sender stops
    /// without a bye, nothing more is written to the region (docs/guest.md, "When the device comes and goes").</summary>
    public volatile bool Silent;

    /// <summary>Wakes the sender out of its poll (an eventfd it polls beside the TUN device).</summary>
    public int SenderWakeFd { get; } = Interop.EventFdCreate();

    /// <summary>Wakes the control loop before its next tick (the agent's, which outlives a plane).</summary>
    public SemaphoreSlim ControlWake { get; } = controlWake;

    /// <summary>The first failure of a packet thread: the control loop stops the agent with it.</summary>
    public volatile Exception? Failure;

    public void WakeSender() => Interop.EventFdSignal(SenderWakeFd);

    public void WakeControl()
    {
        if (ControlWake.CurrentCount == 0) ControlWake.Release();
    }

    public void Fail(Exception e)
    {
        Failure ??= e;
        WakeControl();
    }

    public void Dispose()
    {
        Interop.Close(SenderWakeFd);
    }

    public static long Now => System.Diagnostics.Stopwatch.GetTimestamp();

    public static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
}
