using System.Net;
using System.Net.Sockets;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Measure;

/// <summary>
/// The server of ping and bench (both commands' --serve run this, so either answers both): waits for
/// a client's Hello, answers the conversation, and waits for the next. A client that goes away in the
/// middle (its program exits; its VM stays) ends that conversation only. The peer's VM leaving ends
/// the server (<see cref="PeerGoneException"/>).
/// </summary>
internal static class MeasureServer
{
    public static void ServeRing(RingLink link, bool once, TimeSpan helloTimeout, Action<string> log, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[link.MaxPayload];
        while (true)
        {
            HelloMessage hello = Session.AwaitHello(link, buffer, helloTimeout, cancellationToken);
            try
            {
                Answer(link, hello, buffer, log, cancellationToken);
            }
            catch (PeerGoneException e) when (link.PeerStillThere)
            {
                log($"the client went away in the middle of a {Describe(hello)}: {e.Message}");
            }
            catch (TimeoutException e)
            {
                log($"gave up on a {Describe(hello)}: {e.Message}");
            }
            if (once) return;
        }
    }

    public static void ServeTcp(EndPoint listenOn, bool once, Action<string> log, CancellationToken cancellationToken)
    {
        using var listener = new Socket(listenOn.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(listenOn);
        listener.Listen(4);
        log($"listening on tcp {listener.LocalEndPoint}");
        ServeTcp(listener, once, log, cancellationToken);
    }

    /// <summary>Answers clients that connect to <paramref name="listener"/>, one at a time.</summary>
    public static void ServeTcp(Socket listener, bool once, Action<string> log, CancellationToken cancellationToken)
    {
        while (true)
        {
            using TcpLink link = TcpLink.Accept(listener, cancellationToken);
            byte[] buffer = new byte[link.MaxPayload];
            try
            {
                HelloMessage hello = Session.AwaitHello(link, buffer, TimeSpan.FromSeconds(60), cancellationToken);
                Answer(link, hello, buffer, log, cancellationToken);
            }
            catch (Exception e) when (e is IOException or TimeoutException or ProtocolException)
            {
                log($"connection from {link.PeerLabel} ended: {e.Message}");
            }
            if (once) return;
        }
    }

    private static void Answer(IMessageLink link, HelloMessage hello, byte[] buffer, Action<string> log, CancellationToken cancellationToken)
    {
        switch (hello.Operation)
        {
            case Operation.Ping:
                Ping.Serve(link, hello, buffer, cancellationToken);
                log($"answered a ping run of {hello.Parameter} x {hello.Size} B from {link.PeerLabel}");
                break;
            case Operation.Bench:
                Bench.Serve(link, hello, buffer, cancellationToken);
                log($"answered a bench run of {Units.Bytes(hello.Size)} each way from {link.PeerLabel}");
                break;
            default:
                Session.Refuse(link, hello, $"this side runs 'ping --serve' / 'bench --serve', which answer ping and bench, not {hello.Operation.ToString().ToLowerInvariant()}", cancellationToken);
                log($"refused a {hello.Operation.ToString().ToLowerInvariant()} request from {link.PeerLabel}");
                break;
        }
    }

    private static string Describe(HelloMessage hello) => hello.Operation.ToString().ToLowerInvariant() + " run";
}
