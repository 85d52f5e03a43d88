namespace Ivshmem.Peer.Host;

/// <summary>How a <see cref="HostPeer"/> connects.</summary>
public sealed record HostPeerOptions
{
    public static HostPeerOptions Default { get; } = new();

    /// <summary>Doorbell vectors of the region (its <c>vectors</c> setting; 2 unless configured). Like
    /// QEMU's <c>vectors=</c>, the client must know it: the protocol never says how many own eventfds
    /// will come, so the handshake is complete when this many have arrived.</summary>
    public int Vectors { get; init; } = 2;

    /// <summary>The name this peer wants in the region's peer table (1..48 letters, digits, '-', '_',
    /// '.'). The protocol carries nothing from client to server, so the name travels in the socket's
    /// own address: the client binds to the abstract address "ivshmem-peer/TOKEN/NAME" before
    /// connecting and the daemon reads it with getpeername. Null: the daemon names it host:USER:PID.</summary>
    public string? Name { get; init; }

    /// <summary>Longest wait for the handshake (version, id, memory, eventfds).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Attach the region layout in the memory (an ivshmemd region). Off for servers that hand
    /// out unformatted memory (QEMU's reference ivshmem-server); <see cref="HostPeer.Region"/> then throws.</summary>
    public bool AttachRegion { get; init; } = true;

    /// <summary>Keep every message received (<see cref="HostPeer.Messages"/>), for protocol tests and
    /// debugging. Off by default: a long-lived peer would accumulate them.</summary>
    internal bool RecordMessages { get; init; }

    /// <summary>Read join and leave announcements on a background thread after the handshake (what
    /// QEMU does in its main loop). Off: nothing reads the socket after the handshake.</summary>
    public bool TrackPeers { get; init; } = true;
}
