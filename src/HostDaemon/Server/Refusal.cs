namespace Ivshmem.Daemon.Server;

/// <summary>
/// Why a connection is refused. The daemon refuses by sending a version message with this nonzero
/// value instead of 0 and then closing: QEMU 7.2 then fails device realize with "server sent version
/// N, expecting 0" and exits. Just closing would leave QEMU spinning at 100% CPU inside realize
/// (docs/protocol.md, "What crashes or hangs QEMU 7.2"). The values are part of docs/protocol.md,
/// "Refusal".
/// </summary>
public enum RefusalReason
{
    None = 0,
    /// <summary>The connecting process is not allowed (allow users/groups) or is neither a VM of the
    /// region nor a process of one of its host users.</summary>
    NotAdmitted = 1,
    /// <summary>Every peer slot of the region is taken (max_peers).</summary>
    RegionFull = 2,
    /// <summary>A peer with the same name (VM name, or a host peer's chosen name) is connected.</summary>
    NameInUse = 3,
    /// <summary>The region handed out all 65536 peer ids while peers were connected; ids are never
    /// reused while any peer that saw them is alive (QEMU's heap would be corrupted).</summary>
    NoPeerIdLeft = 4,
    /// <summary>The region is being removed (reload) or the daemon is stopping.</summary>
    ShuttingDown = 5,
}
