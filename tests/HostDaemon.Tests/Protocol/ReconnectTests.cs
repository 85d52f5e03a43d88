using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Protocol;

/// <summary>
/// Issue 10, finding 3: a VM that closes its connection and connects again at once must find its old
/// slot free. Hangups already pending are handled before a connection is admitted, so a slot whose
/// peer has closed is never the reason for a refusal.
/// </summary>
public sealed class ReconnectTests
{
    [Fact]
    public void ReconnectingAtOnceToANearlyFullRegionIsNeverRefused()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 4));
        for (int i = 0; i < 3; i++) server.Connect(track: false);
        var options = new HostPeerOptions { TrackPeers = false, AttachRegion = false };
        int refused = 0;
        var codes = new List<long>();
        for (int i = 0; i < 200; i++)
        {
            try
            {
                HostPeer.Connect(server.SocketOf(), options).Dispose();
                HostPeer.Connect(server.SocketOf(), options).Dispose();
            }
            catch (ServerRefusedException e)
            {
                refused++;
                codes.Add(e.Code);
                server.WaitForPeerCount(3);
            }
        }
        Assert.True(refused == 0, $"{refused} of 200 reconnects refused (codes {string.Join(",", codes)})");
    }

    [Fact]
    public void ReconnectingAtOnceUnderTheSameNameIsNotRefusedAsNameInUse()
    {
        using var server = new RunningServer(TestConfig.Region(maxPeers: 4));
        var options = new HostPeerOptions { TrackPeers = false, AttachRegion = false, Name = "vm-like" };
        int refused = 0;
        for (int i = 0; i < 100; i++)
        {
            try
            {
                HostPeer.Connect(server.SocketOf(), options).Dispose();
                HostPeer.Connect(server.SocketOf(), options).Dispose();
            }
            catch (ServerRefusedException)
            {
                refused++;
                server.WaitForPeerCount(0);
            }
        }
        Assert.Equal(0, refused);
    }
}
