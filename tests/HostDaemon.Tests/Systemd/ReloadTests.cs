using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Systemd;

/// <summary>systemctl reload (SIGHUP) on the real process: RELOADING=1 with MONOTONIC_USEC, the new
/// configuration applied (or, if it has errors, not applied, logged and shown), then READY=1.</summary>
public sealed class ReloadTests
{
    private const int SIGHUP = 1;

    [Fact]
    public void SighupAddsANewRegionAndRemovesAnIdleOneBetweenReloadingAndReady()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("keep") + ServiceUnderTest.Region("drop"));
        using HostPeer peer = HostPeer.Connect(service.SocketOf("keep"));
        int start = service.Systemd.WaitForLine("STATUS=2 regions, 1 peer (keep: 1/4; drop: 0/4)", service.ReadyIndex);
        File.WriteAllText(service.ConfigPath, ServiceUnderTest.Yaml(dir, ServiceUnderTest.Region("keep") + ServiceUnderTest.Region("new")));
        long before = MonotonicMicroseconds();

        service.Process.Signal(SIGHUP);

        int reloading = service.Systemd.WaitFor(d => d.Text.StartsWith("RELOADING=1\nMONOTONIC_USEC=", StringComparison.Ordinal), "RELOADING=1", start);
        long stamp = long.Parse(service.Systemd.Datagrams[reloading].Fields["MONOTONIC_USEC"]);
        Assert.InRange(stamp, before, MonotonicMicroseconds());
        int status = service.Systemd.WaitForLine("STATUS=2 regions, 1 peer (keep: 1/4; new: 0/4)", reloading);
        service.Systemd.WaitForLine("READY=1", status);
        Assert.True(File.Exists(service.SocketOf("new")));
        Assert.False(File.Exists(service.SocketOf("drop")));
        Assert.True(peer.IsServerConnected); // the live region was not touched
        using HostPeer newcomer = HostPeer.Connect(service.SocketOf("keep"));
        Assert.Equal(peer.OwnId + 1, newcomer.OwnId);
        Assert.Equal(peer.Region.FormatId, newcomer.Region.FormatId);
    }

    [Fact]
    public async Task BadYamlOnReloadKeepsTheOldConfigurationLogsTheErrorsAndSaysSoInStatus()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a"));
        File.WriteAllText(service.ConfigPath, ServiceUnderTest.Yaml(dir, ServiceUnderTest.Region("a") + "  - {name: b, size: 3M, host_users: [root]}\n"));

        service.Process.Signal(SIGHUP);

        int reloading = service.Systemd.WaitFor(d => d.Text.StartsWith("RELOADING=1", StringComparison.Ordinal), "RELOADING=1", service.ReadyIndex);
        int status = service.Systemd.WaitFor(d => d.Text.StartsWith("STATUS=Reload failed (1 error, see the journal), serving the previous configuration: 1 region, 0 peers (a: 0/4)", StringComparison.Ordinal), "STATUS with the failure", reloading);
        service.Systemd.WaitForLine("READY=1", status);
        Assert.False(File.Exists(service.SocketOf("b")));
        using (HostPeer.Connect(service.SocketOf("a"))) { }
        Eventually.True(() => service.Process.Log.Contains("ivshmemd.yaml:5:"), "the error with file and line is in the log");
        Assert.Contains("Reload failed: 1 error in ", service.Process.Log);

        string json = await StatusClient.QueryAsync(service.ControlSocket, CancellationToken.None);
        Assert.Contains("\"succeeded\": false", json);
        Assert.Contains("power of two", json);
        Assert.Contains("1 error in ", json);
    }

    private static long MonotonicMicroseconds() => System.Diagnostics.Stopwatch.GetTimestamp() / (System.Diagnostics.Stopwatch.Frequency / 1_000_000);
}
