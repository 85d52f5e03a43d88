using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Links;

/// <summary>
/// A <see cref="RingChannel"/> to one peer whose receiving end can be re-opened: while a
/// conversation is being set up the peer may be a fresh process (a new producer session on its ring)
/// or an old one (a session this side already read from), and it may start before or after this side.
/// <see cref="ReceiveFirst"/> follows the peer to its current session without losing or re-reading a
/// record; once the conversation runs, a new session of the peer is an error
/// (<see cref="PeerGoneException"/>: "re-opened").
/// </summary>
internal sealed class RingLink : IMessageLink
{
    private readonly IvshmemEndpoint _endpoint;
    private readonly PeerEntry _local;
    private readonly PeerEntry _peer;
    private readonly IRingSignal _signal;
    private readonly RingProducer _producer;
    private readonly RingChannelOptions _baseOptions;
    private readonly Func<long> _wakeups;
    private RingConsumer _consumer;
    private RingChannel _channel;
    private TimeSpan _stallTimeout;

    private RingLink(IvshmemEndpoint endpoint, PeerEntry local, PeerEntry peer, RingChannelOptions options, Func<long> wakeups)
    {
        _endpoint = endpoint;
        _local = local;
        _peer = peer;
        _baseOptions = options;
        _stallTimeout = options.Timeout;
        _wakeups = wakeups;
        _signal = endpoint.Doorbell(peer.PeerId, endpoint.DataVector);
        Region region = endpoint.Region;
        PeerLabel = peer.Name.Length > 0 ? $"'{peer.Name}' (id {peer.PeerId})" : $"id {peer.PeerId}";
        _producer = new RingProducer(region.RingMemory(local.Slot, peer.Slot), RingSession.New(peer.Epoch), _signal,
            $"ring {local.Slot}->{peer.Slot} ({local.Name} -> {peer.Name})");
        _consumer = NewConsumer();
        _channel = NewChannel();
    }

    /// <summary>Opens this side's end towards <paramref name="peer"/> (a new producer session).</summary>
    public static RingLink Open(IvshmemEndpoint endpoint, PeerEntry peer, RingChannelOptions options, Func<long>? wakeups = null)
    {
        PeerEntry local = endpoint.Self;
        if (!peer.IsPresent) throw new PeerGoneException($"peer '{peer.Name}' (id {peer.PeerId}) is not present");
        return new RingLink(endpoint, local, peer, options, wakeups ?? (() => -1));
    }

    public string PeerLabel { get; }
    public string Transport => "ring";
    public int MaxPayload => _producer.MaxPayload;
    public long Wakeups => _wakeups();
    public RingChannel Channel => _channel;

    public TimeSpan StallTimeout
    {
        get => _stallTimeout;
        set
        {
            _stallTimeout = value;
            _channel = NewChannel();
        }
    }

    public void Send(int type, ReadOnlySpan<byte> payload, CancellationToken cancellationToken = default) =>
        _channel.Send(payload, type, cancellationToken);

    public Span<byte> Claim(int length, CancellationToken cancellationToken = default) => _channel.Claim(length, cancellationToken);

    public void Commit(int length, int type)
    {
        _producer.Commit(length, type);
        _producer.Publish();
    }

    public void Flush() => _producer.Publish();

    /// <summary>Receives the next message of the running conversation. A record that belongs to a new
    /// session of the peer (its program restarted) ends the conversation; it is left unreleased, so
    /// <see cref="ReceiveFirst"/> can still start the next conversation from that session's beginning.</summary>
    public int Receive(Span<byte> buffer, out int type, CancellationToken cancellationToken = default)
    {
        RingRecord record = _channel.Receive(cancellationToken);
        if (PeerReopened())
            throw new PeerGoneException($"peer {PeerLabel} re-opened its end of the channel (its program restarted); what it was sending has ended");
        if (record.Payload.Length > buffer.Length)
            throw new ArgumentException($"a message of {record.Payload.Length} bytes does not fit a buffer of {buffer.Length}", nameof(buffer));
        record.Payload.CopyTo(buffer);
        type = record.Type;
        int length = record.Payload.Length;
        _consumer.Release();
        return length;
    }

    public (int Type, int Length) ReceiveFirst(Span<byte> buffer, Func<int, ReadOnlySpan<byte>, bool> accept, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        TimeSpan stall = _stallTimeout;
        StallTimeout = timeout;
        try
        {
            while (true)
            {
                if (PeerReopened()) { Rejoin(); continue; }
                RingRecord record;
                try
                {
                    record = _channel.Receive(cancellationToken);
                }
                catch (PeerGoneException) when (PeerReopened() && GoneReason() is null)
                {
                    Rejoin();
                    continue;
                }
                // Read across into a new session of the peer: those records belong to the new
                // session, whose consumer must start at its beginning. Nothing is released, so the
                // new consumer sees them again, from the start of the session.
                if (PeerReopened()) { Rejoin(); continue; }
                int type = record.Type;
                int length = record.Payload.Length;
                bool taken = length <= buffer.Length && accept(type, record.Payload);
                if (taken) record.Payload.CopyTo(buffer);
                _consumer.Release();
                if (taken) return (type, length);
            }
        }
        finally
        {
            StallTimeout = stall;
        }
    }

    /// <summary>True while the peer table still holds the peer this link was opened with (a
    /// <see cref="PeerGoneException"/> then means its program re-opened its end, not that it left).</summary>
    public bool PeerStillThere => GoneReason() is null;

    public void Dispose() { }

    private bool PeerReopened() => _consumer.Joined && _consumer.ProducerSession != _consumer.Session;

    private void Rejoin()
    {
        _consumer = NewConsumer();
        _channel = NewChannel();
    }

    private RingConsumer NewConsumer() =>
        new(_endpoint.Region.RingMemory(_peer.Slot, _local.Slot), _local.Epoch, _signal,
            $"ring {_peer.Slot}->{_local.Slot} ({_peer.Name} -> {_local.Name})");

    private RingChannel NewChannel() =>
        new(_producer, _consumer, _endpoint.Interrupts, GoneReason, _baseOptions with { Timeout = _stallTimeout }, _peer.Name.Length > 0 ? _peer.Name : $"id {_peer.PeerId}");

    /// <summary>Why the channel cannot go on: this side's device is being unplugged, or, from the peer
    /// table, the peer's slot is no longer the peer it was opened with, or this side's slot is no
    /// longer ours.</summary>
    private string? GoneReason()
    {
        // The device being unplugged ends every conversation (docs/guest.md, "When the device comes and goes").
        if (_endpoint.GoingAwayReason is { } going) return going;
        PeerTable peers = _endpoint.Region.Peers;
        // The usual answer, both still there, without decoding names: this runs on every peer check
        // and after every wake-up that found nothing to do, and waiting must not allocate.
        if (peers.IsPresentWithEpoch(_peer.Slot, _peer.Epoch) && peers.IsPresentWithEpoch(_local.Slot, _local.Epoch))
            return null;
        PeerEntry now = peers.Read(_peer.Slot);
        if (!now.IsPresent || now.Epoch != _peer.Epoch)
            return now.IsPresent
                ? $"peer {PeerLabel} is gone: it left, and slot {_peer.Slot} now holds '{now.Name}' (id {now.PeerId})"
                : $"peer {PeerLabel} is gone: it left the region (its VM stopped or its program exited)";
        PeerEntry self = peers.Read(_local.Slot);
        if (!self.IsPresent || self.Epoch != _local.Epoch)
            return $"this side no longer holds slot {_local.Slot} of the region (the daemon dropped it)";
        return null;
    }
}
