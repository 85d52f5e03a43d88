using Ivshmem.Ring;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem.Peer.Tests;

/// <summary>
/// A region in anonymous shared memory with real eventfds per peer and vector, playing the daemon's
/// part (peer table, control-vector rings) for in-process tests of the agent over real rings. Peer
/// ids are 10 + slot, so code that mixes up slots and ids fails here.
/// </summary>
public sealed class TestRegion : IDisposable
{
    public const int Vectors = 2;
    private readonly MappedMemory _mapping;
    private readonly int[][] _eventFds;
    private readonly List<TestEndpoint> _endpoints = [];

    public TestRegion(long size = 1 << 20, int slots = 3)
    {
        _mapping = MappedMemory.Anonymous(size);
        Region = Region.Format(_mapping.Memory, slots);
        _eventFds = new int[slots][];
        for (int s = 0; s < slots; s++)
        {
            _eventFds[s] = new int[Vectors];
            for (int v = 0; v < Vectors; v++) _eventFds[s][v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        }
    }

    public Region Region { get; }

    public static int IdOf(int slot) => 10 + slot;

    /// <summary>Joins <paramref name="name"/> in <paramref name="slot"/> and returns its endpoint.</summary>
    public TestEndpoint Join(int slot, string name)
    {
        Region.Peers.Join(slot, IdOf(slot), PeerKind.VirtualMachine, name);
        RingControlOfOthers(slot);
        var endpoint = new TestEndpoint(this, slot);
        _endpoints.Add(endpoint);
        return endpoint;
    }

    /// <summary>What the daemon does when a peer leaves: mark the slot gone, ring everyone's control vector.</summary>
    public void Leave(int slot)
    {
        Region.Peers.Leave(slot);
        RingControlOfOthers(slot);
    }

    internal int EventFd(int slot, int vector) => _eventFds[slot][vector];

    internal int SlotOf(int peerId) => peerId - 10;

    private unsafe void RingControlOfOthers(int slot)
    {
        for (int s = 0; s < _eventFds.Length; s++)
        {
            if (s == slot) continue;
            ulong one = 1;
            write(_eventFds[s][IvshmemEndpoint.ControlVector], &one, 8);
        }
    }

    public void Dispose()
    {
        foreach (TestEndpoint e in _endpoints) e.Dispose();
        foreach (int[] fds in _eventFds) foreach (int fd in fds) close(fd);
        _mapping.Dispose();
    }
}

/// <summary>One peer of a <see cref="TestRegion"/>: doorbells are writes to the target's eventfd,
/// interrupts are its own eventfds, as for a host peer of ivshmemd.</summary>
public sealed class TestEndpoint : IvshmemEndpoint
{
    private readonly TestRegion _owner;
    private readonly EventFdWaiter _waiter;
    private readonly CancellationTokenSource _goingAway = new();
    private volatile string? _goingAwayReason;
    private bool _disposed;

    internal TestEndpoint(TestRegion owner, int slot)
    {
        _owner = owner;
        Slot = slot;
        _waiter = new EventFdWaiter([owner.EventFd(slot, 0), owner.EventFd(slot, 1)]);
    }

    public int Slot { get; }
    public EventFdWaiter Waiter => _waiter;
    public override Region Region => _owner.Region;
    public override int OwnId => TestRegion.IdOf(Slot);
    public override int VectorCount => TestRegion.Vectors;
    public override IRingWaiter Interrupts => _waiter;
    public override IRingSignal Doorbell(int peerId, int vector) => new EventFdSignal(_owner.EventFd(_owner.SlotOf(peerId), vector));
    public override CancellationToken GoingAway => _goingAway.Token;
    public override string? GoingAwayReason => _goingAwayReason;

    /// <summary>What a guest device does when the kernel asks for it back: say why, cancel
    /// <see cref="GoingAway"/>, and wake this side's waiters through its control vector.</summary>
    public void Unplug(string reason)
    {
        _goingAwayReason = reason;
        _goingAway.Cancel();
        new EventFdSignal(_owner.EventFd(Slot, ControlVector)).Ring();
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        _waiter.Dispose();
        _goingAway.Dispose();
    }
}
