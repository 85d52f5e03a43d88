using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Faults;

/// <summary>What every fault test checks of a daemon run as its own process (so that only its fds are
/// counted): how many peers it reports, and its open fds.</summary>
internal static class FaultDaemon
{
    /// <summary>Waits until the daemon's last STATUS= says <paramref name="peers"/> peers in its one region.</summary>
    public static void WaitForPeerCount(ServiceUnderTest service, int peers) =>
        Eventually.True(() => service.Systemd.Datagrams.LastOrDefault(d => d.Text.StartsWith("STATUS=", StringComparison.Ordinal))?.Text
            .Contains($"1 region, {peers} peer", StringComparison.Ordinal) == true, // after a failed reload, behind "Reload failed (...): "
            $"the daemon reports {peers} peers (log:\n{service.Process.Log})");

    /// <summary>The daemon's open fds once a first peer has joined and left region
    /// <paramref name="region"/>: what the runtime opens once (thread pool, sockets' first use) is then
    /// in the baseline, and only what a fault leaves behind counts against it.</summary>
    public static int WarmedUpFdCount(ServiceUnderTest service, string region)
    {
        HostPeer.Connect(service.SocketOf(region), new HostPeerOptions { TrackPeers = false }).Dispose();
        WaitForPeerCount(service, 0);
        return NativeFds.CountOpen(service.Process.Pid);
    }

    /// <summary>Waits until the daemon has no more open fds than <paramref name="baseline"/> (its
    /// thread pool may still be closing a socket when the status changes; the baseline itself may
    /// include one still closing, so fewer is fine).</summary>
    public static void WaitForFdCount(ServiceUnderTest service, int baseline) =>
        Eventually.True(() => NativeFds.CountOpen(service.Process.Pid) <= baseline,
            $"the daemon is back to its {baseline} fds (now {NativeFds.CountOpen(service.Process.Pid)}: {string.Join(" ", Directory.GetFiles($"/proc/{service.Process.Pid}/fd").Select(f => new FileInfo(f).LinkTarget).Where(t => t?.EndsWith(".dll", StringComparison.Ordinal) != true))})");
}
