using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// What a served region needs from the server around it, and no more: the loop it runs on, the log,
/// where its fds wait across a restart, the ids its predecessors handed out, and whom to tell when its
/// peers change. The server makes one and gives it to every region it opens.
/// </summary>
/// <param name="Loop">The event loop thread every region's work runs on.</param>
/// <param name="FdStore">Where fds wait across a restart (null: nowhere).</param>
/// <param name="PeerIds">The next ids of regions closed earlier in this run, by name.</param>
/// <param name="PeerIdStore">Where each region's next id is kept across stops, starts and crashes.</param>
/// <param name="Unplugged">The QEMU processes whose connection ended while they ran on (they lost their device).</param>
/// <param name="PeersChanged">After a join or a leave: the server republishes that region's status.</param>
/// <param name="Emptied">A retiring or changed region lost its last peer: the server may now close
/// or re-create it (never from inside the region's own call).</param>
internal sealed record RegionContext(
    EventLoop Loop,
    ILogger Logger,
    IFdStore? FdStore,
    PeerIdHistory PeerIds,
    PeerIdStore PeerIdStore,
    UnpluggedQemuRegistry Unplugged,
    Action<ServedRegion> PeersChanged,
    Action<ServedRegion> Emptied);
