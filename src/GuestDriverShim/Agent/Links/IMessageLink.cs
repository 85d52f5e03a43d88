namespace Ivshmem.Agent.Links;

/// <summary>
/// A two-way message link to one peer: a ring channel in a region (<see cref="RingLink"/>), or, to
/// compare against the network, a TCP connection (<see cref="TcpLink"/>). Ping, bench and transfers
/// run over either, so the figures compare the transports, not two programs.
/// One sender and one receiver at a time (they may be different threads).
/// </summary>
internal interface IMessageLink : IDisposable
{
    /// <summary>The peer, for messages ("'vm-b' (id 1)", "10.0.0.2:5201").</summary>
    string PeerLabel { get; }

    /// <summary>"ring" or "tcp".</summary>
    string Transport { get; }

    /// <summary>Largest payload of one message.</summary>
    int MaxPayload { get; }

    /// <summary>Sends one message (waits for room).</summary>
    void Send(int type, ReadOnlySpan<byte> payload, CancellationToken cancellationToken = default);

    /// <summary>Room for one message of up to <paramref name="length"/> bytes, to fill in place;
    /// then <see cref="Commit"/>. Zero-copy on a ring.</summary>
    Span<byte> Claim(int length, CancellationToken cancellationToken = default);

    void Commit(int length, int type);

    /// <summary>Makes sent messages visible/pushes them out (a ring publishes on every message; TCP
    /// flushes its buffer).</summary>
    void Flush();

    /// <summary>Receives the next message of the conversation into <paramref name="buffer"/> (at least
    /// <see cref="MaxPayload"/> bytes); returns its length.</summary>
    int Receive(Span<byte> buffer, out int type, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for the first message that <paramref name="accept"/> takes, skipping others (what an
    /// earlier run left behind). On a ring this also follows the peer when it (re)opens its end,
    /// whichever side started first. Returns the accepted message's type and length.
    /// </summary>
    (int Type, int Length) ReceiveFirst(Span<byte> buffer, Func<int, ReadOnlySpan<byte>, bool> accept, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>How long a conversation may stall before a wait throws <see cref="TimeoutException"/>.</summary>
    TimeSpan StallTimeout { get; set; }

    /// <summary>Doorbell interrupts this side has taken (ring over VFIO or eventfds); -1 when not applicable.</summary>
    long Wakeups { get; }
}
