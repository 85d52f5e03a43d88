using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Logging;

/// <summary>
/// Every log message of the daemon, source-generated, with stable event ids (journal and tests can
/// rely on them). Under systemd the console formatter turns the levels into journal priorities.
/// Ids: 1xxx server and regions, 2xxx peers, 3xxx refusals and accept, 4xxx fd store and restart,
/// 5xxx systemd and reload, 6xxx control socket, 7xxx libvirt.
/// </summary>
internal static partial class DaemonLog
{
    // 1xxx: server and regions
    // Messages with a count take the noun that agrees with it ("1 peer", "2 peers") as a parameter of
    // its own, so the count stays a number in the structured log; the public method supplies it.
    public static void ServerStarted(this ILogger logger, int regionCount, int peerCount) =>
        ServerStarted(logger, regionCount, Plural.Noun(regionCount, "region"), peerCount, Plural.Noun(peerCount, "peer"));

    [LoggerMessage(1000, LogLevel.Information, "Serving {RegionCount} {Regions} ({PeerCount} {Peers} restored)")]
    private static partial void ServerStarted(ILogger logger, int regionCount, string regions, int peerCount, string peers);

    public static void RegionListening(this ILogger logger, string region, long size, string memory, int vectors, int maxPeers, string socket) =>
        RegionListening(logger, region, size, memory, vectors, Plural.Noun(vectors, "vector"), maxPeers, socket);

    [LoggerMessage(1001, LogLevel.Information, "Region '{Region}': {Size} bytes of {Memory}, {Vectors} {VectorNoun}, {MaxPeers} peer slots, listening on {Socket}")]
    private static partial void RegionListening(ILogger logger, string region, long size, string memory, int vectors, string vectorNoun, int maxPeers, string socket);

    [LoggerMessage(1002, LogLevel.Information, "Region '{Region}' added by reload")]
    public static partial void RegionAdded(this ILogger logger, string region);

    [LoggerMessage(1003, LogLevel.Information, "Region '{Region}' removed: {Why}")]
    public static partial void RegionRemoved(this ILogger logger, string region, string why);

    public static void RegionRetiring(this ILogger logger, string region, int peerCount) =>
        RegionRetiring(logger, region, peerCount, Plural.Noun(peerCount, "peer"));

    [LoggerMessage(1004, LogLevel.Information, "Region '{Region}' is no longer configured; it stops accepting and goes away once its last peer has left ({PeerCount} {Peers} still connected)")]
    private static partial void RegionRetiring(ILogger logger, string region, int peerCount, string peers);

    public static void RegionChangeDeferred(this ILogger logger, string region, int peerCount) =>
        RegionChangeDeferred(logger, region, peerCount, Plural.Noun(peerCount, "peer"));

    [LoggerMessage(1005, LogLevel.Warning, "Region '{Region}' changed in the configuration but has {PeerCount} {Peers}; it stays as it is until its last peer has left")]
    private static partial void RegionChangeDeferred(ILogger logger, string region, int peerCount, string peers);

    [LoggerMessage(1006, LogLevel.Information, "Region '{Region}' re-created: {Why}")]
    public static partial void RegionReplaced(this ILogger logger, string region, string why);

    [LoggerMessage(1007, LogLevel.Error, "Region '{Region}' could not be set up: {Reason}")]
    public static partial void RegionFailed(this ILogger logger, string region, string reason);

    [LoggerMessage(1008, LogLevel.Information, "{What}: replaced the stale socket file {Path} (nothing was listening on it)")]
    public static partial void StaleSocketReplaced(this ILogger logger, string what, string path);

    [LoggerMessage(1009, LogLevel.Warning, "Could not remove the socket file {Path}: {Reason}")]
    public static partial void SocketUnlinkFailed(this ILogger logger, string path, string reason);

    [LoggerMessage(1015, LogLevel.Warning, "{What}: the socket file {Path} was removed while the daemon listened on it (was the runtime directory cleaned?); connected peers are not affected; re-creating it")]
    public static partial void SocketFileRemoved(this ILogger logger, string what, string path);

    [LoggerMessage(1016, LogLevel.Information, "{What}: listening again on {Path}")]
    public static partial void SocketFileRecreated(this ILogger logger, string what, string path);

    [LoggerMessage(1017, LogLevel.Error, "{What}: cannot re-create the socket file {Path}: {Reason}; new connections are refused until it can (retried every few seconds)")]
    public static partial void SocketFileRecreateFailed(this ILogger logger, string what, string path, string reason);

    [LoggerMessage(1018, LogLevel.Warning, "{What}: the socket file {Path} was replaced by another file while the daemon listened on it; leaving it alone (reload or restart ivshmemd to listen there again)")]
    public static partial void SocketFileReplaced(this ILogger logger, string what, string path);

    public static void ServerStopping(this ILogger logger, int peerCount) =>
        ServerStopping(logger, peerCount, Plural.Noun(peerCount, "peer connection"));

    [LoggerMessage(1010, LogLevel.Information, "Stopping: closing {PeerCount} {Connections} (their VMs keep their memory and doorbells)")]
    private static partial void ServerStopping(ILogger logger, int peerCount, string connections);

    [LoggerMessage(1011, LogLevel.Information, "Stopped")]
    public static partial void ServerStopped(this ILogger logger);

    [LoggerMessage(1012, LogLevel.Warning, "Stopping before every peer had read its pending messages (a peer did not read its socket)")]
    public static partial void FlushIncomplete(this ILogger logger);

    [LoggerMessage(1013, LogLevel.Error, "Bug: an event handler failed; the daemon carries on")]
    public static partial void LoopHandlerFailed(this ILogger logger, Exception exception);

    [LoggerMessage(1014, LogLevel.Warning, "Region '{Region}': {Problem}; that entry admits nobody")]
    public static partial void AdmissionNameUnknown(this ILogger logger, string region, string problem);

    // 2xxx: peers
    [LoggerMessage(2000, LogLevel.Information, "Region '{Region}': peer {PeerId} joined in slot {Slot}: '{Name}' ({Kind}, pid {Pid}, user {User})")]
    public static partial void PeerJoined(this ILogger logger, string region, int peerId, int slot, string name, string kind, int pid, string user);

    [LoggerMessage(2001, LogLevel.Information, "Region '{Region}': peer {PeerId} '{Name}' left slot {Slot}: {Reason}")]
    public static partial void PeerLeft(this ILogger logger, string region, int peerId, int slot, string name, string reason);

    [LoggerMessage(2002, LogLevel.Warning, "Region '{Region}': peer {PeerId} '{Name}' in slot {Slot} dropped: {Reason}")]
    public static partial void PeerDropped(this ILogger logger, string region, int peerId, int slot, string name, string reason);

    [LoggerMessage(2003, LogLevel.Debug, "Region '{Region}': peer {PeerId}'s socket is full; the rest of its messages follow when it reads")]
    public static partial void PeerBackpressure(this ILogger logger, string region, int peerId);

    [LoggerMessage(2004, LogLevel.Information, "Region '{Region}': all 65536 peer ids were used and nobody is connected; ids start again at 0")]
    public static partial void PeerIdsWrapped(this ILogger logger, string region);

    [LoggerMessage(2005, LogLevel.Error, "Region '{Region}': the next peer id could not be saved to {Path}: {Reason}; no id is handed out until it can be")]
    public static partial void PeerIdSaveFailed(this ILogger logger, string region, string path, string reason);

    [LoggerMessage(2007, LogLevel.Warning, "Region '{Region}': the peer id file {Path} was removed while the daemon ran; saved it again (ids up to {ReservedUpTo})")]
    public static partial void PeerIdFileRestored(this ILogger logger, string region, string path, long reservedUpTo);

    [LoggerMessage(2006, LogLevel.Warning, "Region '{Region}': the saved next peer id in {Path} is unusable ({Reason}); ids continue from {NextPeerId}")]
    public static partial void PeerIdFileUnusable(this ILogger logger, string region, string path, string reason, long nextPeerId);

    [LoggerMessage(2008, LogLevel.Information, "Region '{Region}': VM '{Vm}' (QEMU pid {Pid}) closed its connection and its process runs on: its ivshmem device was unplugged; 'ivshmemd attach' refuses to add one to that process again")]
    public static partial void QemuUnplugged(this ILogger logger, string region, string vm, int pid);

    [LoggerMessage(2009, LogLevel.Warning, "The record of unplugged QEMU processes {Path} could not be {Action} ({Reason}); 'ivshmemd attach' may not know that a QEMU lost its device before this daemon started")]
    public static partial void UnpluggedQemuFileFailed(this ILogger logger, string path, string action, string reason);

    // 3xxx: refusals and accept
    [LoggerMessage(3000, LogLevel.Warning, "Region '{Region}': refused pid {Pid} (user {User}, uid {Uid}): {Reason}; sent refusal code {Code}")]
    public static partial void PeerRefused(this ILogger logger, string region, int pid, string user, uint uid, string reason, int code);

    [LoggerMessage(3001, LogLevel.Error, "Region '{Region}': accept failed: {Reason}; pausing accepts for a second")]
    public static partial void AcceptFailed(this ILogger logger, string region, string reason);

    [LoggerMessage(3002, LogLevel.Error, "Region '{Region}': setting up a new peer failed: {Reason}; it was refused")]
    public static partial void AdmissionFailed(this ILogger logger, string region, string reason);

    // 4xxx: fd store and restart
    [LoggerMessage(4000, LogLevel.Warning, "Region '{Region}': the fd store did not take {What}; it cannot survive a daemon restart")]
    public static partial void FdStoreRefused(this ILogger logger, string region, string what);

    public static void RegionRestored(this ILogger logger, string region, int peerCount, int orphaned, int lost, long nextPeerId) =>
        RegionRestored(logger, region, peerCount, Plural.Noun(peerCount, "peer"), orphaned, lost, nextPeerId);

    [LoggerMessage(4001, LogLevel.Information, "Region '{Region}' restored from the fd store: {PeerCount} {Peers} of the previous instance resumed ({Orphaned} orphaned), {Lost} had left; next peer id {NextPeerId}")]
    private static partial void RegionRestored(ILogger logger, string region, int peerCount, string peers, int orphaned, int lost, long nextPeerId);

    [LoggerMessage(4002, LogLevel.Warning, "Region '{Region}': the stored memory was not used ({Reason}); the region starts afresh, VMs of the previous instance keep the old memory among themselves")]
    public static partial void RestoredRegionDiscarded(this ILogger logger, string region, string reason);

    [LoggerMessage(4003, LogLevel.Warning, "Region '{Region}': peer {PeerId} '{Name}' was being sent a message when the previous instance died; it cannot be told anything more (orphaned) but keeps its memory and doorbells")]
    public static partial void PeerOrphaned(this ILogger logger, string region, int peerId, string name);

    [LoggerMessage(4004, LogLevel.Information, "Stored fd '{Name}' from a previous instance is not used by this configuration; closed and removed from the store")]
    public static partial void RestoredFdUnused(this ILogger logger, string name);

    // 4005 ("the fd store is unreachable") was never logged: a store that cannot be reached refuses
    // each fd, which 4000 reports. Not to be reused.

    [LoggerMessage(4006, LogLevel.Information, "Region '{Region}': the stored ledger is from a daemon that did not keep slot epochs; they were taken over from the peer table once and are kept privately from now on")]
    public static partial void LedgerEpochsTakenOver(this ILogger logger, string region);

    // 5xxx: systemd and reload
    [LoggerMessage(5000, LogLevel.Information, "Reloading the configuration from {Path}")]
    public static partial void ReloadStarted(this ILogger logger, string path);

    [LoggerMessage(5001, LogLevel.Information, "Reloaded: {Summary}")]
    public static partial void ReloadSucceeded(this ILogger logger, string summary);

    public static void ReloadRejected(this ILogger logger, int errorCount, string path) =>
        ReloadRejected(logger, errorCount, Plural.Noun(errorCount, "error"), path);

    [LoggerMessage(5002, LogLevel.Error, "Reload failed: {ErrorCount} {Errors} in {Path}; still serving the previous configuration")]
    private static partial void ReloadRejected(ILogger logger, int errorCount, string errors, string path);

    [LoggerMessage(5003, LogLevel.Error, "{ConfigError}")]
    public static partial void ConfigError(this ILogger logger, string configError);

    [LoggerMessage(5004, LogLevel.Warning, "Reload: changes to {What} need a restart; the running values stay")]
    public static partial void ReloadNeedsRestart(this ILogger logger, string what);

    [LoggerMessage(5005, LogLevel.Information, "Reload requested, but the daemon runs the built-in demo configuration: nothing to reload")]
    public static partial void ReloadNothing(this ILogger logger);

    [LoggerMessage(5006, LogLevel.Error, "Reload: some regions could not be set up: {Failures}")]
    public static partial void ReloadPartlyFailed(this ILogger logger, string failures);

    [LoggerMessage(5007, LogLevel.Critical, "Could not start: {Reason}")]
    public static partial void StartFailed(this ILogger logger, string reason);

    [LoggerMessage(5008, LogLevel.Warning, "sd_notify to {Socket} failed: {Reason}")]
    public static partial void NotifyFailed(this ILogger logger, string socket, string reason);

    [LoggerMessage(5009, LogLevel.Information, "Watchdog: sending WATCHDOG=1 every {Interval} ms")]
    public static partial void WatchdogEnabled(this ILogger logger, long interval);

    [LoggerMessage(5010, LogLevel.Information, "SIGHUP was ignored when the daemon started (nohup?); it is taken back, so SIGHUP reloads the configuration")]
    public static partial void SighupWasIgnored(this ILogger logger);

    // 6xxx: control socket
    [LoggerMessage(6000, LogLevel.Information, "Control socket listening on {Path}")]
    public static partial void ControlListening(this ILogger logger, string path);

    [LoggerMessage(6001, LogLevel.Warning, "Control socket: a request failed: {Reason}")]
    public static partial void ControlRequestFailed(this ILogger logger, string reason);

    [LoggerMessage(6002, LogLevel.Information, "Metrics: writing {Path} every {Seconds} s")]
    public static partial void MetricsTextfileStarted(this ILogger logger, string path, int seconds);

    [LoggerMessage(6003, LogLevel.Warning, "Metrics: cannot write {Path}: {Reason}")]
    public static partial void MetricsTextfileFailed(this ILogger logger, string path, string reason);

    [LoggerMessage(6004, LogLevel.Information, "Metrics: {Path} is written again")]
    public static partial void MetricsTextfileRecovered(this ILogger logger, string path);

    // 7xxx: libvirt (docs/libvirt.md)
    [LoggerMessage(7000, LogLevel.Information, "libvirt: following domains on {Uri}")]
    public static partial void LibvirtConnected(this ILogger logger, string uri);

    [LoggerMessage(7001, LogLevel.Warning, "libvirt: {Reason}; trying again every {Seconds} s (regions are served as before)")]
    public static partial void LibvirtConnectFailed(this ILogger logger, string reason, int seconds);

    [LoggerMessage(7002, LogLevel.Warning, "libvirt: the connection to {Uri} was closed: {Reason}; reconnecting")]
    public static partial void LibvirtConnectionLost(this ILogger logger, string uri, string reason);

    [LoggerMessage(7003, LogLevel.Error, "libvirt: {Reason}; domains are not followed (regions are served as before)")]
    public static partial void LibvirtUnavailable(this ILogger logger, string reason);

    [LoggerMessage(7004, LogLevel.Information, "libvirt: domain '{Domain}' {Event} (lifecycle event {EventType}, detail {Detail})")]
    public static partial void LibvirtLifecycle(this ILogger logger, string domain, string @event, int eventType, int detail);

    [LoggerMessage(7005, LogLevel.Information, "Region '{Region}': attached domain '{Domain}' in {Milliseconds} ms ({Partners} runs here too)")]
    public static partial void LibvirtAttached(this ILogger logger, string region, string domain, long milliseconds, string partners);

    [LoggerMessage(7006, LogLevel.Error, "Region '{Region}': could not attach domain '{Domain}': {Reason}")]
    public static partial void LibvirtAttachFailed(this ILogger logger, string region, string domain, string reason);

    [LoggerMessage(7007, LogLevel.Information, "Region '{Region}': domain '{Domain}' runs, but none of its partners ({Partners}) runs here; it is left without the device")]
    public static partial void LibvirtAlone(this ILogger logger, string region, string domain, string partners);

    [LoggerMessage(7008, LogLevel.Warning, "Region '{Region}': not attaching domain '{Domain}': its QEMU (pid {Pid}) already had an ivshmem device removed, and QEMU 7.2 crashes when another is added to such a process; restart the domain to attach it")]
    public static partial void LibvirtRefusedReattach(this ILogger logger, string region, string domain, int pid);

    [LoggerMessage(7009, LogLevel.Information, "libvirt: domain '{Domain}' (QEMU pid {Pid}) had device '{Alias}' removed")]
    public static partial void LibvirtDeviceRemoved(this ILogger logger, string domain, string pid, string alias);

    [LoggerMessage(7010, LogLevel.Error, "libvirt: following domains failed: {Reason}; carrying on")]
    public static partial void LibvirtFollowerFailed(this ILogger logger, string reason);

    [LoggerMessage(7011, LogLevel.Information, "Region '{Region}': domain '{Domain}' is being migrated here; its device is attached once the migration completes")]
    public static partial void LibvirtMigratingIn(this ILogger logger, string region, string domain);
}
