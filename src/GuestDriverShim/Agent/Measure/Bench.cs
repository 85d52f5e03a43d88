using System.Diagnostics;
using System.Globalization;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;
using Ivshmem.Peer;

namespace Ivshmem.Agent.Measure;

/// <summary>Throughput both ways, as the client measured it, for each round.</summary>
internal sealed record BenchResult(long Bytes, int Chunk, IReadOnlyList<TimeSpan> Uploads, IReadOnlyList<TimeSpan> Downloads, long Wakeups)
{
    /// <summary>The best round's rate (the least disturbed by whatever else the machine ran).</summary>
    public double UploadRate => Bytes / Uploads.Min().TotalSeconds;
    public double DownloadRate => Bytes / Downloads.Min().TotalSeconds;
    public double UploadMedianRate => Bytes / Median(Uploads).TotalSeconds;
    public double DownloadMedianRate => Bytes / Median(Downloads).TotalSeconds;

    public string Summary(string transport, string peer) => string.Create(CultureInfo.InvariantCulture,
        $"{transport} throughput with {peer}: {Units.Bytes(Bytes)} in {Units.Bytes(Chunk)} messages, {Uploads.Count} rounds: to peer {Units.Rate(UploadRate)} (median {Units.Rate(UploadMedianRate)}), from peer {Units.Rate(DownloadRate)} (median {Units.Rate(DownloadMedianRate)}){(Wakeups >= 0 ? $", {Wakeups} doorbell interrupts" : "")}");

    /// <summary>The middle round (of an even count, the faster of the two middle ones).</summary>
    public static TimeSpan Median(IReadOnlyList<TimeSpan> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[(sorted.Length - 1) / 2];
    }
}

/// <summary>
/// Bench: the client sends N bytes in messages of one chunk size and waits for the server to say it
/// has them all (upload), then asks for N bytes and times their arrival (download); as many rounds
/// as asked, reporting the best and the median. Each side copies
/// the payload from or into private memory, as a real sender and receiver would; the time includes
/// one request round trip, which is nothing next to the transfer.
/// </summary>
internal static class Bench
{
    public const int DefaultChunk = 256 * 1024;

    public static BenchResult Run(IMessageLink link, long bytes, int chunk, TimeSpan answerTimeout, CancellationToken cancellationToken, int rounds = 1)
    {
        rounds = Math.Max(1, rounds);
        chunk = Math.Clamp(chunk, 64, link.MaxPayload);
        ulong conversation = ConversationMessage.NewId();
        link.Send(MessageTypes.Hello, new HelloMessage(Operation.Bench, conversation, bytes, chunk, "").Encode(), cancellationToken);
        byte[] buffer = new byte[link.MaxPayload];
        Session.AwaitAccept(link, buffer, conversation, answerTimeout, cancellationToken);
        long wakeupsBefore = link.Wakeups;

        byte[] pattern = Pattern(chunk);
        var uploads = new List<TimeSpan>(rounds);
        var downloads = new List<TimeSpan>(rounds);
        for (int round = 0; round < rounds; round++)
        {
            long start = Stopwatch.GetTimestamp();
            SendData(link, bytes, pattern, cancellationToken);
            link.Send(MessageTypes.End, new EndMessage(conversation, bytes, 0).Encode(), cancellationToken);
            link.Flush();
            int n = link.Receive(buffer, out int type, cancellationToken);
            if (type != MessageTypes.BenchResult) throw Unexpected(link, type, "BenchResult");
            uploads.Add(Stopwatch.GetElapsedTime(start));
            (long received, _) = PairMessage.Decode(buffer.AsSpan(0, n));
            if (received != bytes) throw new ProtocolException($"{link.PeerLabel} received {received} of {bytes} bytes");

            start = Stopwatch.GetTimestamp();
            link.Send(MessageTypes.BenchPull, PairMessage.Encode(bytes, chunk), cancellationToken);
            link.Flush();
            long got = ReceiveData(link, buffer, cancellationToken);
            downloads.Add(Stopwatch.GetElapsedTime(start));
            if (got != bytes) throw new ProtocolException($"{link.PeerLabel} sent {got} of {bytes} bytes");
        }
        long wakeups = wakeupsBefore < 0 ? -1 : link.Wakeups - wakeupsBefore;
        link.Send(MessageTypes.Bye, ConversationMessage.Encode(conversation), cancellationToken);
        link.Flush();
        return new BenchResult(bytes, chunk, uploads, downloads, wakeups);
    }

    /// <summary>The server side of one bench conversation.</summary>
    public static void Serve(IMessageLink link, HelloMessage hello, byte[] buffer, CancellationToken cancellationToken)
    {
        link.Send(MessageTypes.Accept, ConversationMessage.Encode(hello.Conversation), cancellationToken);
        link.Flush();
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            int n = link.Receive(buffer, out int type, cancellationToken);
            if (type == MessageTypes.Data)
            {
                long received = n + ReceiveData(link, buffer, cancellationToken);
                link.Send(MessageTypes.BenchResult, PairMessage.Encode(received, (long)Stopwatch.GetElapsedTime(start).TotalNanoseconds), cancellationToken);
                link.Flush();
                continue;
            }
            if (type == MessageTypes.BenchPull)
            {
                (long bytes, long chunk) = PairMessage.Decode(buffer.AsSpan(0, n));
                SendData(link, bytes, Pattern((int)Math.Clamp(chunk, 64, link.MaxPayload)), cancellationToken);
                link.Send(MessageTypes.End, new EndMessage(hello.Conversation, bytes, 0).Encode(), cancellationToken);
                link.Flush();
                continue;
            }
            if (type == MessageTypes.Bye) return;
            throw Unexpected(link, type, "Data, BenchPull or Bye");
        }
    }

    private static void SendData(IMessageLink link, long bytes, byte[] pattern, CancellationToken cancellationToken)
    {
        for (long left = bytes; left > 0;)
        {
            int n = (int)Math.Min(left, pattern.Length);
            pattern.AsSpan(0, n).CopyTo(link.Claim(n, cancellationToken));
            link.Commit(n, MessageTypes.Data);
            left -= n;
        }
    }

    /// <summary>Receives Data until End; returns the bytes received.</summary>
    private static long ReceiveData(IMessageLink link, byte[] buffer, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            int n = link.Receive(buffer, out int type, cancellationToken);
            if (type == MessageTypes.Data) { total += n; continue; }
            if (type == MessageTypes.End) return total;
            throw Unexpected(link, type, "Data or End");
        }
    }

    private static byte[] Pattern(int chunk)
    {
        byte[] pattern = new byte[chunk];
        new Random(1).NextBytes(pattern);
        return pattern;
    }

    private static ProtocolException Unexpected(IMessageLink link, int type, string expected) =>
        new($"{link.PeerLabel} sent {MessageTypes.Name(type)} where {expected} belongs");
}
