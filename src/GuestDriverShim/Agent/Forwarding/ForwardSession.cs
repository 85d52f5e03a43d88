using System.Net;
using System.Net.Sockets;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Measure;
using Ivshmem.Agent.Protocol;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Forwarding;

/// <summary>The two sides of 'forward': the listening side opens a session and carries accepted
/// connections; the connecting side answers sessions, one after the other.</summary>
internal static class ForwardSession
{
    /// <summary>A listening socket at <paramref name="address"/> (a stale UNIX socket file is replaced).</summary>
    public static Socket Bind(EndPoint address)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, address is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            if (address is UnixDomainSocketEndPoint && address.ToString() is { } path && File.Exists(path)) File.Delete(path);
            if (address is IPEndPoint) listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(address);
            listener.Listen(16);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Removes a UNIX socket file that <see cref="Bind"/> created.</summary>
    public static void Unbind(EndPoint address)
    {
        if (address is UnixDomainSocketEndPoint && address.ToString() is { } path && File.Exists(path)) File.Delete(path);
    }

    /// <summary>
    /// The listening side: opens a session with the peer's 'forward --connect' (waiting up to
    /// <paramref name="wait"/> for it to answer), then carries every connection accepted on
    /// <paramref name="listener"/> until cancelled, the peer fails, or (<paramref name="once"/>) the
    /// first connection has closed. Says Bye at the end, so the other side resets and waits again.
    /// </summary>
    public static void Listen(RingLink link, Socket listener, bool once, TimeSpan wait, Action<string> log, CancellationToken cancellationToken)
    {
        ulong conversation = ConversationMessage.NewId();
        link.Send(MessageTypes.Hello, new HelloMessage(Operation.Forward, conversation, -1, 0, listener.LocalEndPoint?.ToString() ?? "").Encode(), cancellationToken);
        Session.AwaitAccept(link, new byte[link.MaxPayload], conversation, wait, cancellationToken);

        using var forwarder = new Forwarder(link, null, log);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var acceptor = new Thread(() => Accept(listener, forwarder, once, log, stop)) { IsBackground = true, Name = "forward accept" };
        acceptor.Start();
        try
        {
            forwarder.Run(conversation, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // --once: the connection has closed.
        }
        finally
        {
            forwarder.SayBye(conversation);
            stop.Cancel();
            listener.Close();
            acceptor.Join();
        }
    }

    private static void Accept(Socket listener, Forwarder forwarder, bool once, Action<string> log, CancellationTokenSource stop)
    {
        uint next = 1;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                Socket socket = listener.Accept();
                if (socket.ProtocolType == ProtocolType.Tcp) socket.NoDelay = true;
                uint id = next++;
                log($"connection {id} from {socket.RemoteEndPoint?.ToString() ?? "a local client"}");
                forwarder.Accepted(socket, id);
                if (once)
                {
                    while (forwarder.ActiveConnections > 0 && !stop.IsCancellationRequested) Thread.Sleep(20);
                    stop.Cancel();
                    return;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or IvshmemException)
        {
            if (!stop.IsCancellationRequested) log($"no longer accepting connections: {e.Message}");
        }
    }

    /// <summary>
    /// The connecting side: answers forwarding sessions from the peer, one at a time, connecting each
    /// carried connection to <paramref name="target"/>. A session ends with the peer's Bye or when its
    /// program goes away (its VM staying); then the next is awaited. Returns after one session with
    /// <paramref name="once"/>; throws <see cref="PeerGoneException"/> when the peer's VM leaves.
    /// </summary>
    public static void Connect(RingLink link, EndPoint target, bool once, Action<string> log, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[link.MaxPayload];
        while (true)
        {
            HelloMessage hello = Session.AwaitHello(link, buffer, Timeout.InfiniteTimeSpan, cancellationToken);
            if (hello.Operation != Operation.Forward)
            {
                Session.Refuse(link, hello, $"this side runs 'forward --connect', not {hello.Operation.ToString().ToLowerInvariant()}", cancellationToken);
                continue;
            }
            link.Send(MessageTypes.Accept, ConversationMessage.Encode(hello.Conversation), cancellationToken);
            log($"{link.PeerLabel} forwards connections from its {hello.Name}");
            using (var forwarder = new Forwarder(link, target, log))
            {
                try
                {
                    forwarder.Run(hello.Conversation, cancellationToken);
                    log($"{link.PeerLabel} stopped forwarding");
                }
                catch (PeerGoneException e) when (link.PeerStillThere)
                {
                    log($"the forwarding session ended: {e.Message}");
                }
            }
            if (once) return;
        }
    }
}
