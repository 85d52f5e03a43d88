using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Faults;

/// <summary>
/// Fault: the runtime directory removed under the running daemon (rm -r, a tmpfiles clean-up). It
/// holds the region's socket, the control socket and, by default, the state directory with the peer
/// id files. The listening fds keep working for nobody, since clients connect by path. Within a few
/// seconds the daemon makes the directory again, binds both sockets again (events 1015, 1016) and
/// saves the id file again (2007); the resident peer notices nothing, new peers and
/// <c>ivshmemd status</c> connect again, and no fd is leaked.
/// </summary>
public sealed class RuntimeDirectoryRemovedTests
{
    [Fact]
    public async Task TheDaemonMakesItsRuntimeDirectoryAndSocketsAgainAndPeersAndStatusConnect()
    {
        using var dir = new TestDirectory();
        string run = dir.File("run");
        string socket = Path.Combine(run, "r.sock"), control = Path.Combine(run, "control.sock");
        string idFile = Path.Combine(run, "state", "r.next-peer-id");
        using var service = ServiceUnderTest.StartWithConfig(dir,
            $"runtime_directory: {run}\ncontrol_socket: {control}\nregions:\n{ServiceUnderTest.Region("r")}");
        // Warm up what the runtime opens once (a peer's sockets, the control socket's first request).
        HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false }).Dispose();
        Assert.Equal(0, await StatusClient.RunAsync(control, json: false, TextWriter.Null, TextWriter.Null, CancellationToken.None));
        FaultDaemon.WaitForPeerCount(service, 0);
        int fdsBefore = NativeFds.CountOpen(service.Process.Pid);

        using (HostPeer resident = HostPeer.Connect(socket))
        {
            FaultDaemon.WaitForPeerCount(service, 1);
            Assert.True(File.Exists(idFile));

            Directory.Delete(run, recursive: true);

            Eventually.True(() => Count(service, "listening again on") == 2,
                $"both sockets are bound again (log:\n{service.Process.Log})");
            Assert.Equal(2, Count(service, "was removed while the daemon listened on it"));
            // Saved first, then logged: wait for the log line.
            Eventually.True(() => service.Process.Log.Contains($"the peer id file {idFile} was removed while the daemon ran; saved it again", StringComparison.Ordinal),
                "the id file is saved again");
            Assert.True(File.Exists(idFile));

            using (HostPeer newcomer = HostPeer.Connect(socket, new HostPeerOptions { TrackPeers = false }))
            {
                Assert.True(resident.WaitForPeer(newcomer.OwnId, Eventually.DefaultTimeout), "the resident hears of the newcomer");
                // The status socket answers (it was bound again) and soon counts both peers: the
                // resident may hear of the newcomer a moment before the daemon's status shows it.
                await Eventually.TrueAsync(() =>
                {
                    using var status = new StringWriter();
                    Assert.Equal(0, StatusClient.RunAsync(control, json: false, status, TextWriter.Null, CancellationToken.None).GetAwaiter().GetResult());
                    return status.ToString().Contains("2/4", StringComparison.Ordinal);
                }, "ivshmemd status shows 2 of 4 peers");
            }
            Assert.True(resident.IsServerConnected);
            Assert.Empty(resident.Problems);
            Assert.False(service.Process.HasExited);
        }
        FaultDaemon.WaitForPeerCount(service, 0);
        FaultDaemon.WaitForFdCount(service, fdsBefore);
    }

    private static int Count(ServiceUnderTest service, string text) =>
        service.Process.Log.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));
}
