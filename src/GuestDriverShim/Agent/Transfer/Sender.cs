using System.Diagnostics;
using System.IO.Hashing;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;

namespace Ivshmem.Agent.Transfer;

/// <summary>
/// Sends one stream as a transfer: Hello (with the size when known), Data records, End with the
/// XXH128 of everything sent, then waits for the receiver's Ack, which carries the receiver's own
/// checksum. The data is read into private memory and hashed there, then copied into the ring once,
/// so shared memory is only ever written by this side (reads of an uncached BAR are slow).
/// </summary>
internal static class Sender
{
    public const int MaxChunk = 1024 * 1024;

    public static TransferResult Run(IMessageLink link, Stream input, long? size, string name, Progress progress, TimeSpan ackTimeout, CancellationToken cancellationToken)
    {
        ulong conversation = ConversationMessage.NewId();
        long start = Stopwatch.GetTimestamp();
        long wakeupsBefore = link.Wakeups;
        link.Send(MessageTypes.Hello, new HelloMessage(Operation.Transfer, conversation, size ?? -1, 0, name).Encode(), cancellationToken);

        var hasher = new XxHash128();
        int chunk = Math.Min(link.MaxPayload, MaxChunk);
        byte[] buffer = new byte[chunk];
        long total = 0;
        try
        {
            while (true)
            {
                int n = input.ReadAtLeast(buffer, chunk, throwOnEndOfStream: false);
                if (n == 0) break;
                hasher.Append(buffer.AsSpan(0, n));
                buffer.AsSpan(0, n).CopyTo(link.Claim(n, cancellationToken));
                link.Commit(n, MessageTypes.Data);
                total += n;
                progress.Update(total);
                if (n < chunk) break;
            }
        }
        catch (IOException e) when (e is not EndOfStreamException)
        {
            // The input failed, not the link: tell the receiver why before giving up.
            TryAbort(link, conversation, $"the sender could not read its input: {e.Message}");
            throw;
        }
        UInt128 hash = hasher.GetCurrentHashAsUInt128();
        link.Send(MessageTypes.End, new EndMessage(conversation, total, hash).Encode(), cancellationToken);
        link.Flush();

        byte[] reply = new byte[link.MaxPayload];
        var (type, length) = link.ReceiveFirst(reply,
            (t, p) => t is MessageTypes.Ack or MessageTypes.Abort && p.Length >= 8 && ConversationMessage.Conversation(p) == conversation,
            ackTimeout, cancellationToken);
        progress.Finish();
        if (type == MessageTypes.Abort)
            throw new PeerAbortedException($"the receiver gave up: {ConversationMessage.Text(reply.AsSpan(0, length))}");
        AckMessage ack = AckMessage.Decode(reply.AsSpan(0, length));
        var result = new TransferResult(total, hash, Stopwatch.GetElapsedTime(start), wakeupsBefore < 0 ? -1 : link.Wakeups - wakeupsBefore);
        return ack.Status switch
        {
            AckStatus.Verified when ack.Hash == hash && ack.Received == total => result,
            AckStatus.Verified or AckStatus.ChecksumMismatch => throw new ChecksumMismatchException(
                $"the receiver got {ack.Received} bytes with xxh128 {TransferResult.Hex(ack.Hash)}; sent were {total} bytes with xxh128 {TransferResult.Hex(hash)}"),
            _ => throw new PeerAbortedException($"the receiver failed: {ack.Message}"),
        };
    }

    private static void TryAbort(IMessageLink link, ulong conversation, string why)
    {
        try
        {
            link.Send(MessageTypes.Abort, ConversationMessage.Encode(conversation, why));
            link.Flush();
        }
        catch (Exception e) when (e is IOException or TimeoutException or Ring.IvshmemException)
        {
            // The receiver learns from the stall instead.
        }
    }
}
