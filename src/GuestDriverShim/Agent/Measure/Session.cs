using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;

namespace Ivshmem.Agent.Measure;

/// <summary>The opening of a conversation, shared by every client and server.</summary>
internal static class Session
{
    /// <summary>Waits for the server's Accept of <paramref name="conversation"/> (or its Abort).</summary>
    public static void AwaitAccept(IMessageLink link, byte[] buffer, ulong conversation, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (type, length) = link.ReceiveFirst(buffer,
            (t, p) => t is MessageTypes.Accept or MessageTypes.Abort && p.Length >= 8 && ConversationMessage.Conversation(p) == conversation,
            timeout, cancellationToken);
        if (type == MessageTypes.Abort)
            throw new ProtocolException($"{link.PeerLabel} refused: {ConversationMessage.Text(buffer.AsSpan(0, length))}");
    }

    /// <summary>Waits for the next Hello (skipping what earlier runs left behind).</summary>
    public static HelloMessage AwaitHello(IMessageLink link, byte[] buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (_, length) = link.ReceiveFirst(buffer, static (t, _) => t == MessageTypes.Hello, timeout, cancellationToken);
        return HelloMessage.Decode(buffer.AsSpan(0, length));
    }

    /// <summary>Refuses a conversation this server does not offer, saying what it does.</summary>
    public static void Refuse(IMessageLink link, HelloMessage hello, string why, CancellationToken cancellationToken)
    {
        link.Send(MessageTypes.Abort, ConversationMessage.Encode(hello.Conversation, why), cancellationToken);
        link.Flush();
    }
}
