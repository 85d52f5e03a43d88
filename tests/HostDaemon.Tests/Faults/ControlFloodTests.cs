using System.Net.Sockets;
using System.Text;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Faults;

/// <summary>
/// Fault: the control socket flooded with clients that send garbage or nothing at all. Each client
/// is served on its own (thread-pool tasks, never the event loop), so the regions and a real
/// <c>ivshmemd status</c> are not held up; a garbage client gets the error answer and is closed, a
/// silent one is closed after the 5 s request timeout, and each is logged (event 6001) with why.
/// </summary>
public sealed class ControlFloodTests
{
    private const int Silent = 40, Garbage = 40;

    [Fact]
    public async Task FloodedControlSocketStillAnswersStatusAndClosesEachBadClientWithALoggedReasonLeakingNothing()
    {
        using var dir = new TestDirectory();
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("r", maxPeers: 4));
        await StatusClient.QueryAsync(service.ControlSocket, CancellationToken.None); // what the runtime opens once
        HostPeer.Connect(service.SocketOf("r"), new HostPeerOptions { TrackPeers = false }).Dispose();
        FaultDaemon.WaitForPeerCount(service, 0);
        int fdsBefore = NativeFds.CountOpen(service.Process.Pid);

        var silent = Enumerable.Range(0, Silent).Select(_ => ConnectControl(service)).ToList();
        var garbage = Enumerable.Range(0, Garbage).Select(i =>
        {
            Socket s = ConnectControl(service);
            // Half send a line that is not a request, half more bytes than a request may have and no newline.
            byte[] junk = i % 2 == 0 ? Encoding.UTF8.GetBytes($"GET / HTTP/1.0 {i}\n") : Enumerable.Range(0, 300).Select(b => (byte)(b * 7 + i)).ToArray();
            s.Send(junk);
            return s;
        }).ToList();
        try
        {
            // StatusClient gives up after its own 5 s timeout (an exception here): the answer must come before.
            string answer = await StatusClient.QueryAsync(service.ControlSocket, CancellationToken.None);
            Assert.Contains("\"r\"", answer);
            using (HostPeer peer = HostPeer.Connect(service.SocketOf("r")))
                Assert.True(peer.OwnId >= 0, "a peer still joins the region");

            // A line that is not a request gets the error answer; 300 bytes without a newline get it
            // too, but the daemon closes with the bytes past its 256 unread, so the kernel may reset
            // the connection instead of delivering it: closed either way.
            for (int i = 0; i < garbage.Count; i++)
            {
                string got = ReadToEnd(garbage[i]);
                if (i % 2 == 0 || got != "(reset)") Assert.Contains("unknown request", got);
            }
            foreach (Socket s in silent) Assert.Equal("", ReadToEnd(s)); // closed by the daemon after its request timeout
            Eventually.True(() => Count(service.Process.Log, "an unknown request (") == Garbage
                                  && Count(service.Process.Log, "no complete request and answer within 5 s; closed") == Silent,
                $"each bad client's close is logged with its reason (log:\n{service.Process.Log})");
        }
        finally
        {
            foreach (Socket s in silent.Concat(garbage)) s.Dispose();
        }
        FaultDaemon.WaitForPeerCount(service, 0);
        FaultDaemon.WaitForFdCount(service, fdsBefore);
    }

    private static Socket ConnectControl(ServiceUnderTest service)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 30_000 };
        s.Connect(new UnixDomainSocketEndPoint(service.ControlSocket));
        return s;
    }

    /// <summary>Everything the daemon sends until it closes (bounded by the receive timeout).</summary>
    private static string ReadToEnd(Socket s)
    {
        var text = new StringBuilder();
        byte[] buffer = new byte[4096];
        int n;
        try
        {
            while ((n = s.Receive(buffer)) > 0) text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return text.Length > 0 ? text.ToString() : "(reset)";
        }
        return text.ToString();
    }

    private static int Count(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
