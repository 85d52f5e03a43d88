using System.Diagnostics;
using System.IO.Hashing;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;

namespace Ivshmem.Agent.Transfer;

/// <summary>
/// Receives one transfer: waits for a Hello (skipping what earlier runs left in the ring), writes the
/// Data records out while hashing them, checks the sender's End (length and XXH128) and answers with
/// an Ack that carries its own checksum, so both sides report the same verdict.
/// </summary>
internal static class Receiver
{
    /// <param name="openOutput">Opens where the data goes, once the Hello has said what comes.</param>
    /// <param name="commitOutput">Called after verification (renames a partial file into place).</param>
    public static TransferResult Run(IMessageLink link, Func<HelloMessage, Stream> openOutput, Action commitOutput, Progress progress, TimeSpan helloTimeout, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[link.MaxPayload];
        var (_, helloLength) = link.ReceiveFirst(buffer, static (t, p) => t == MessageTypes.Hello, helloTimeout, cancellationToken);
        HelloMessage hello = HelloMessage.Decode(buffer.AsSpan(0, helloLength));
        if (hello.Operation != Operation.Transfer)
        {
            link.Send(MessageTypes.Abort, ConversationMessage.Encode(hello.Conversation, $"this side runs 'recv'; it cannot answer a {hello.Operation.ToString().ToLowerInvariant()} request"), cancellationToken);
            throw new ProtocolException($"{link.PeerLabel} asked for {hello.Operation.ToString().ToLowerInvariant()}, but this side is receiving a file: run 'send' there");
        }
        progress.SetTotal(hello.Size);
        long start = Stopwatch.GetTimestamp();
        long wakeupsBefore = link.Wakeups;
        var hasher = new XxHash128();
        long total = 0;
        EndMessage end;
        Stream output = openOutput(hello);
        try
        {
            while (true)
            {
                int n = link.Receive(buffer, out int type, cancellationToken);
                if (type == MessageTypes.Data)
                {
                    ReadOnlySpan<byte> data = buffer.AsSpan(0, n);
                    hasher.Append(data);
                    Write(link, hello.Conversation, output, data, total);
                    total += n;
                    progress.Update(total);
                    continue;
                }
                if (type == MessageTypes.End)
                {
                    end = EndMessage.Decode(buffer.AsSpan(0, n));
                    break;
                }
                if (type == MessageTypes.Abort)
                    throw new PeerAbortedException($"the sender gave up after {total} bytes: {ConversationMessage.Text(buffer.AsSpan(0, n))}");
                throw new ProtocolException($"{link.PeerLabel} sent a {MessageTypes.Name(type)} message in the middle of a transfer");
            }
            Write(link, hello.Conversation, output, [], total);
        }
        finally
        {
            progress.Finish();
            if (!ReferenceEquals(output, Stream.Null)) output.Dispose();
        }

        UInt128 hash = hasher.GetCurrentHashAsUInt128();
        var result = new TransferResult(total, hash, Stopwatch.GetElapsedTime(start), wakeupsBefore < 0 ? -1 : link.Wakeups - wakeupsBefore);
        if (end.Conversation != hello.Conversation || end.Total != total || end.Hash != hash)
        {
            TryAck(link, new AckMessage(hello.Conversation, AckStatus.ChecksumMismatch, total, hash, "checksum mismatch"));
            throw new ChecksumMismatchException(
                $"received {total} bytes with xxh128 {TransferResult.Hex(hash)}, but the sender says it sent {end.Total} bytes with xxh128 {TransferResult.Hex(end.Hash)}");
        }
        commitOutput();
        link.Send(MessageTypes.Ack, new AckMessage(hello.Conversation, AckStatus.Verified, total, hash, "").Encode(), cancellationToken);
        link.Flush();
        return result;
    }

    /// <summary>Writes (or, for an empty span, flushes) the output; a failure there is this side's
    /// fault, which the sender is told before this side gives up.</summary>
    private static void Write(IMessageLink link, ulong conversation, Stream output, ReadOnlySpan<byte> data, long total)
    {
        try
        {
            if (data.IsEmpty) output.Flush();
            else output.Write(data);
        }
        catch (IOException e)
        {
            TryAck(link, new AckMessage(conversation, AckStatus.Failed, total, 0, $"the receiver could not write its output: {e.Message}"));
            throw new IOException($"cannot write the output: {e.Message}", e);
        }
    }

    private static void TryAck(IMessageLink link, AckMessage ack)
    {
        try
        {
            link.Send(MessageTypes.Ack, ack.Encode());
            link.Flush();
        }
        catch (Exception e) when (e is IOException or TimeoutException or Ring.IvshmemException)
        {
            // The sender learns from its own timeout.
        }
    }
}
