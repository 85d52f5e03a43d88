namespace Ivshmem.Peer.Tests.Net;

/// <summary>
/// A fact that needs what 'ivshmem-agent net' needs on a host: root (network namespaces, TUN devices,
/// routes), /dev/net/tun, iproute2 and iperf3. xunit 2.9 has no dynamic skip, so the condition is
/// checked when xunit reads the attribute, and a missing piece makes the test skipped with the reason.
/// </summary>
public sealed class NetFactAttribute : FactAttribute
{
    public NetFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root: creates network namespaces, TUN devices and routes (run scripts/test as root)";
        else if (!File.Exists("/dev/net/tun"))
            Skip = "needs /dev/net/tun (the tun module: modprobe tun)";
        else if (!Command.Exists("ip") || !Command.Exists("iperf3"))
            Skip = "needs ip (iproute2) and iperf3 (scripts/test installs iperf3)";
    }
}
