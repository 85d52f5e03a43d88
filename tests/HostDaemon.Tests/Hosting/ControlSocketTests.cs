using System.Net.Sockets;
using System.Text;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Hosting;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Hosting;

/// <summary>The control socket and <c>ivshmemd status</c> against the real daemon process.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ControlSocketTests
{
    [Fact]
    public async Task StatusListsRegionsAndPeersAsATableAndAsJson()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("web-db", size: "64M", extra: ", vms: [web, db]"));
        using HostPeer peer = HostPeer.Connect(service.SocketOf("web-db"), new HostPeerOptions { Name = "bench" });

        using var text = new StringWriter();
        Assert.Equal(0, await StatusClient.RunAsync(service.ControlSocket, json: false, text, TextWriter.Null, CancellationToken.None));
        string[] lines = text.ToString().Split('\n');
        Assert.StartsWith($"ivshmemd (pid {service.Process.Pid}) serving {service.ConfigPath}", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("web-db  64M   memfd    2        1/4    serving  " + service.SocketOf("web-db"), StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith($"{peer.OwnId}   0     bench  host  {Environment.ProcessId}", StringComparison.Ordinal));

        using var json = new StringWriter();
        Assert.Equal(0, await StatusClient.RunAsync(service.ControlSocket, json: true, json, TextWriter.Null, CancellationToken.None));
        StatusReport report = System.Text.Json.JsonSerializer.Deserialize(json.ToString(), StatusJson.Default.StatusReport)!;
        PeerReport p = Assert.Single(Assert.Single(report.Regions).Peers);
        Assert.Equal((peer.OwnId, "bench", "host", Environment.ProcessId, TestConfig.CurrentUser), (p.Id, p.Name, p.Kind, p.Pid, p.User));
        Assert.Equal(64L << 20, report.Regions[0].SizeBytes);
    }

    [Fact]
    public void ControlSocketIsReadableByTheOwnerAndGroupOnly()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(service.ControlSocket));
    }

    [Fact]
    public async Task UnknownRequestGetsAnErrorAndNoDaemonMeansExitStatusUnavailable()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("a"));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(service.ControlSocket));
        await socket.SendAsync("shutdown\n"u8.ToArray());
        byte[] buffer = new byte[4096];
        int n = await socket.ReceiveAsync(buffer);
        Assert.Contains("unknown request", Encoding.UTF8.GetString(buffer, 0, n));

        using var error = new StringWriter();
        Assert.Equal(ExitCodes.Unavailable, await StatusClient.RunAsync(dir.File("nothing.sock"), json: false, TextWriter.Null, error, CancellationToken.None));
        Assert.Contains("is ivshmemd running?", error.ToString());
    }
}
