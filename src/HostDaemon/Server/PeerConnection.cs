using Ivshmem.Ring;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// One admitted peer: its connection, its eventfds (one per vector; the daemon keeps them so it can
/// ring the peer's control vector and hand them to newcomers), and where it sits in the region. What
/// it has been told lives in the region's <see cref="PeerLedger"/>, not here, so it survives a restart.
/// </summary>
internal sealed class PeerConnection(ServedRegion region, int socket, int[] eventFds, int id, int slot, string name, PeerKind kind,
    PeerCredentials credentials, string user, DateTimeOffset since, bool restored) : IEventHandler
{
    public int Socket { get; } = socket;
    public int[] EventFds { get; } = eventFds;
    public int Id { get; } = id;
    public int Slot { get; } = slot;
    public string Name { get; } = name;
    public PeerKind Kind { get; } = kind;
    public PeerCredentials Credentials { get; } = credentials;
    public string User { get; } = user;
    public DateTimeOffset Since { get; } = since;
    public bool Restored { get; } = restored;

    /// <summary>The peer's process as it was when it connected (pid and start time), for a VM; null
    /// for host peers or when /proc could not tell.</summary>
    public Vm.QemuProcessIdentity? Process { get; init; }

    public ulong Token { get; set; }

    /// <summary>Waiting for EPOLLOUT because the socket buffer was full.</summary>
    public bool OutputArmed { get; set; }

    /// <summary>Came back from a restart with a send of unknown outcome: never sent anything again.</summary>
    public bool Orphaned { get; set; }

    /// <summary>A send failed; its departure is being processed.</summary>
    public bool Failed { get; set; }

    public bool Closed { get; set; }

    public void OnEvents(uint events) => region.OnPeerEvents(this, events);

    public override string ToString() => $"peer {Id} '{Name}'";
}
