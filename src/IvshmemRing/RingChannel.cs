using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Ivshmem.Ring;

/// <summary>
/// A two-way channel between this side and one peer in a <see cref="Region"/>: a producer on the ring
/// towards the peer, a consumer on the ring from it, a doorbell to ring the peer, a waiter to sleep on,
/// and a check that the peer is still the one the channel was opened with.
/// <para>The non-blocking ring APIs stay available (<see cref="Producer"/>, <see cref="Consumer"/>); this
/// type adds waiting: spin briefly, then announce sleep and block, with timeouts and peer checks
/// (<see cref="RingChannelOptions"/>). For plain byte streams use <see cref="AsStream"/>.</para>
/// </summary>
public sealed class RingChannel
{
    private readonly IRingWaiter _waiter;
    private readonly Func<string?> _peerGoneReason;
    private readonly RingChannelOptions _options;
    private readonly SpinBudget _dataSpin;    // waits for data: the reader's rhythm
    private readonly SpinBudget _spaceSpin;   // waits for space or drain: the writer's
    private readonly long _checkTicks;
    private readonly int _firstSliceMs;       // the first sleep's slice when it needs no clock (else 0)

    public RingChannel(RingProducer producer, RingConsumer consumer, IRingWaiter waiter, Func<string?>? peerGoneReason = null, RingChannelOptions? options = null, string peerName = "peer")
    {
        Producer = producer;
        Consumer = consumer;
        _waiter = waiter;
        _peerGoneReason = peerGoneReason ?? (static () => null);
        _options = options ?? RingChannelOptions.Default;
        _dataSpin = new SpinBudget(_options.SpinDuration, _options.MaxSpinDuration);
        _spaceSpin = new SpinBudget(_options.SpinDuration, _options.MaxSpinDuration);
        _checkTicks = Math.Max(1, (long)(_options.PeerCheckInterval.TotalSeconds * Stopwatch.Frequency));
        // With a second or more to spare before the timeout, the first sleep is one peer-check slice
        // whatever the spin took, so it need not read the clock (one read less per wake-up).
        bool spare = _options.Timeout == System.Threading.Timeout.InfiniteTimeSpan || _options.Timeout >= _options.PeerCheckInterval + TimeSpan.FromSeconds(1);
        _firstSliceMs = spare ? (int)Math.Clamp(Math.Ceiling(_options.PeerCheckInterval.TotalMilliseconds), 1, int.MaxValue) : 0;
        PeerName = peerName;
    }

    /// <summary>
    /// Opens the channel from <paramref name="localSlot"/> to <paramref name="peerSlot"/>. Both slots
    /// must hold present peers; the channel is bound to their current epochs and fails with
    /// <see cref="PeerGoneException"/> once either changes.
    /// </summary>
    /// <param name="peerSignal">Rings the peer (its data vector); null if the peer polls.</param>
    /// <param name="waiter">Where this side sleeps (its own data and control vectors).</param>
    public static RingChannel Open(Region region, int localSlot, int peerSlot, IRingSignal? peerSignal, IRingWaiter waiter, RingChannelOptions? options = null)
    {
        PeerEntry local = region.Peers.Read(localSlot);
        PeerEntry peer = region.Peers.Read(peerSlot);
        // The table is shared memory: "not present" may be a peer's scribbling as well as a caller that
        // never joined, so it is reported as the library's own error, not as misuse.
        if (!local.IsPresent) throw new PeerGoneException($"this side's slot {localSlot} is not present in the peer table (state {local.State}): it was never joined, or the table was overwritten");
        if (!peer.IsPresent) throw new PeerGoneException($"no peer is present in slot {peerSlot}");
        string outName = Region.RingName(localSlot, peerSlot, local.Name, peer.Name);
        string inName = Region.RingName(peerSlot, localSlot, peer.Name, local.Name);
        var producer = new RingProducer(region.RingMemory(localSlot, peerSlot), RingSession.New(peer.Epoch), peerSignal, outName);
        var consumer = new RingConsumer(region.RingMemory(peerSlot, localSlot), local.Epoch, peerSignal, inName);
        string peerLabel = peer.Name.Length > 0 ? $"'{peer.Name}' (id {peer.PeerId})" : $"id {peer.PeerId}";
        return new RingChannel(producer, consumer, waiter, () => GoneReason(region, local, peer, peerLabel), options, peer.Name.Length > 0 ? peer.Name : $"id {peer.PeerId}");
    }

    public RingProducer Producer { get; }
    public RingConsumer Consumer { get; }
    public string PeerName { get; }
    public RingChannelOptions Options => _options;

    /// <summary>Largest payload of one message; <see cref="AsStream"/> splits longer writes.</summary>
    public int MaxPayload => Producer.MaxPayload;

    /// <summary>Sends one message, waiting for space as the options say.</summary>
    public void Send(ReadOnlySpan<byte> payload, int type = 0, CancellationToken cancellationToken = default)
    {
        while (!Producer.TryWrite(payload, type)) Wait(Condition.Space, payload.Length, cancellationToken);
    }

    /// <summary>Claims room for one record, waiting for space; fill the span, then
    /// <c>Producer.Commit</c> and <c>Producer.Publish</c>.</summary>
    public Span<byte> Claim(int length, CancellationToken cancellationToken = default)
    {
        Span<byte> span;
        while (!Producer.TryClaim(length, out span))
        {
            Producer.Publish();
            Wait(Condition.Space, length, cancellationToken);
        }
        return span;
    }

    /// <summary>Receives one message in place, waiting for it. Call <c>Consumer.Release()</c> when done
    /// with it (and with any records read before).</summary>
    public RingRecord Receive(CancellationToken cancellationToken = default)
    {
        RingRecord record;
        while (!Consumer.TryRead(out record)) Wait(Condition.Data, 0, cancellationToken);
        return record;
    }

    /// <summary>Receives one message into <paramref name="destination"/> (at least <see cref="MaxPayload"/>
    /// bytes is always enough), waiting for it. Returns its length.</summary>
    public int Receive(Span<byte> destination, out int type, CancellationToken cancellationToken = default)
    {
        int length;
        while (!Consumer.TryRead(destination, out length, out type)) Wait(Condition.Data, 0, cancellationToken);
        return length;
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, int type = 0, CancellationToken cancellationToken = default)
    {
        while (!Producer.TryWrite(payload.Span, type)) await WaitAsync(Condition.Space, payload.Length, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Receives one message into <paramref name="destination"/>; returns its length and type.</summary>
    public async ValueTask<(int Length, int Type)> ReceiveAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        int length, type;
        while (!Consumer.TryRead(destination.Span, out length, out type)) await WaitAsync(Condition.Data, 0, cancellationToken).ConfigureAwait(false);
        return (length, type);
    }

    /// <summary>Blocks until a message is ready to read.</summary>
    public void WaitForData(CancellationToken cancellationToken = default)
    {
        if (!Consumer.HasData()) Wait(Condition.Data, 0, cancellationToken);
    }

    public ValueTask WaitForDataAsync(CancellationToken cancellationToken = default) =>
        Consumer.HasData() ? default : WaitAsync(Condition.Data, 0, cancellationToken);

    /// <summary>Blocks until a record of <paramref name="length"/> payload bytes fits.</summary>
    public void WaitForSpace(int length, CancellationToken cancellationToken = default)
    {
        if (!Producer.HasSpaceFor(length)) Wait(Condition.Space, length, cancellationToken);
    }

    public ValueTask WaitForSpaceAsync(int length, CancellationToken cancellationToken = default) =>
        Producer.HasSpaceFor(length) ? default : WaitAsync(Condition.Space, length, cancellationToken);

    /// <summary>Blocks until the peer has released everything sent: all of it has been read.</summary>
    public void WaitUntilDrained(CancellationToken cancellationToken = default)
    {
        Producer.Publish();
        if (!Producer.IsDrained()) Wait(Condition.Drained, 0, cancellationToken);
    }

    /// <summary>A <see cref="Stream"/> over this channel: writes are split into records, reads join
    /// them; disposing it sends end-of-stream.</summary>
    public RingStream AsStream() => new(this);

    /// <summary>Throws <see cref="PeerGoneException"/> if the peer left, was replaced, or re-opened its
    /// end of the channel.</summary>
    public void ThrowIfPeerGone()
    {
        string? reason = _peerGoneReason();
        if (reason is null && Consumer.Joined && Consumer.ProducerSession != Consumer.Session)
            reason = $"peer {PeerName} re-opened its end of the channel; what it was sending has ended";
        if (reason is not null) throw new PeerGoneException(reason);
    }

    private enum Condition { Data, Space, Drained }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsReady(Condition condition, int length) => condition switch
    {
        Condition.Data => Consumer.HasData(),
        Condition.Space => Producer.HasSpaceFor(length),
        _ => Producer.IsDrained(),
    };

    private void SetWaiting(Condition condition, bool waiting)
    {
        if (condition == Condition.Data) Consumer.SetWaiting(waiting);
        else Producer.SetWaiting(waiting);
    }

    private SpinBudget BudgetFor(Condition condition) => condition == Condition.Data ? _dataSpin : _spaceSpin;

    private void Wait(Condition condition, int length, CancellationToken ct)
    {
        long start = Stopwatch.GetTimestamp();
        SpinBudget budget = BudgetFor(condition);
        if (Spin(condition, length, start, budget.Ticks, ct)) return;
        for (int slept = 0; ; slept++)
        {
            long token = _waiter.Prepare();
            SetWaiting(condition, true);
            if (IsReady(condition, length)) { SetWaiting(condition, false); return; }
            if (condition == Condition.Space) Producer.SleptForSpace();
            _waiter.Wait(token, slept == 0 && _firstSliceMs != 0 ? _firstSliceMs : SliceMs(start));
            SetWaiting(condition, false);
            if (IsReady(condition, length)) { Slept(budget, start); return; }
            CheckStillWaiting(condition, start, ct);
        }
    }

    private async ValueTask WaitAsync(Condition condition, int length, CancellationToken ct)
    {
        long start = Stopwatch.GetTimestamp();
        SpinBudget budget = BudgetFor(condition);
        if (Spin(condition, length, start, budget.Ticks, ct)) return;
        while (true)
        {
            long token = _waiter.Prepare();
            SetWaiting(condition, true);
            if (IsReady(condition, length)) { SetWaiting(condition, false); return; }
            if (condition == Condition.Space) Producer.SleptForSpace();
            try { await _waiter.WaitAsync(token, SliceMs(start), ct).ConfigureAwait(false); }
            finally { SetWaiting(condition, false); }
            if (IsReady(condition, length)) { Slept(budget, start); return; }
            CheckStillWaiting(condition, start, ct);
        }
    }

    /// <summary>Tells the spin budget how long a wait that slept took; block mode has no spin to adapt,
    /// and skips the clock.</summary>
    private void Slept(SpinBudget budget, long start)
    {
        if (_options.WaitMode == WaitMode.SpinThenBlock) budget.Slept(Stopwatch.GetTimestamp() - start);
    }

    /// <summary>Spins for up to <paramref name="spinTicks"/> as the mode allows; true when the
    /// condition came true. Busy-poll spins until then, checking peer and timeout on every
    /// peer-check interval.</summary>
    private bool Spin(Condition condition, int length, long start, long spinTicks, CancellationToken ct)
    {
        if (_options.WaitMode == WaitMode.Block) return false;
        bool forever = _options.WaitMode == WaitMode.BusyPoll;
        long nextCheck = start + _checkTicks;
        for (int i = 0; ; i++)
        {
            if (IsReady(condition, length)) return true;
            // A pause, not a yield: the peer is expected on another core within microseconds.
            Thread.SpinWait(4);
            if ((i & 63) != 0) continue;
            long now = Stopwatch.GetTimestamp();
            if (!forever && now - start > spinTicks) return false;
            if (now >= nextCheck)
            {
                CheckStillWaiting(condition, start, ct);
                nextCheck = now + _checkTicks;
            }
        }
    }

    private void CheckStillWaiting(Condition condition, long start, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        ThrowIfPeerGone();
        TimeSpan waited = Stopwatch.GetElapsedTime(start);
        if (_options.Timeout != System.Threading.Timeout.InfiniteTimeSpan && waited > _options.Timeout)
        {
            string what = condition switch
            {
                Condition.Data => $"data from {PeerName} on {Consumer.Name}",
                Condition.Space => $"space on {Producer.Name} (peer {PeerName} is not reading)",
                _ => $"peer {PeerName} to read everything sent on {Producer.Name}",
            };
            throw new TimeoutException($"waited {waited.TotalSeconds:0.0} s for {what}; the limit is {_options.Timeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>How long one sleep may last: until the next peer check (or the timeout, if sooner).</summary>
    private int SliceMs(long start)
    {
        double slice = _options.PeerCheckInterval.TotalMilliseconds;
        if (_options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
            slice = Math.Min(slice, (_options.Timeout - Stopwatch.GetElapsedTime(start)).TotalMilliseconds + 1);
        return (int)Math.Clamp(Math.Ceiling(slice), 1, int.MaxValue);
    }

    private static string? GoneReason(Region region, PeerEntry local, PeerEntry peer, string peerLabel)
    {
        // The usual answer, both still there, comes without decoding names: this runs on every peer
        // check and after every wake-up that found nothing to do, and waiting must not allocate.
        if (region.Peers.IsPresentWithEpoch(peer.Slot, peer.Epoch) && region.Peers.IsPresentWithEpoch(local.Slot, local.Epoch))
            return null;
        PeerEntry now = region.Peers.Read(peer.Slot);
        if (!now.IsPresent || now.Epoch != peer.Epoch)
            return now.IsPresent
                ? $"peer {peerLabel} left slot {peer.Slot}, which now holds '{now.Name}' (id {now.PeerId})"
                : $"peer {peerLabel} left (slot {peer.Slot} is {now.State.ToString().ToLowerInvariant()})";
        PeerEntry self = region.Peers.Read(local.Slot);
        if (!self.IsPresent || self.Epoch != local.Epoch)
            return $"this side no longer holds slot {local.Slot} (the daemon dropped it)";
        return null;
    }
}
