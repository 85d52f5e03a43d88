using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;

namespace Ivshmem.Agent.Measure;

/// <summary>Round-trip times of one ping run, in microseconds.</summary>
internal sealed record PingResult(IReadOnlyList<double> RoundTripsUs, int PayloadBytes, long Wakeups)
{
    public double Percentile(double p)
    {
        var sorted = RoundTripsUs.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        // Nearest rank: the smallest value with at least p% of the samples at or below it.
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public string Summary(string transport, string peer) => string.Create(CultureInfo.InvariantCulture,
        $"{transport} round trip to {peer}: {RoundTripsUs.Count} x {PayloadBytes} B: min {RoundTripsUs.Min():0.0} us, p50 {Percentile(50):0.0} us, p99 {Percentile(99):0.0} us, max {RoundTripsUs.Max():0.0} us{(Wakeups >= 0 ? $", {Wakeups} doorbell interrupts" : "")}");
}

/// <summary>
/// Ping: the client sends a Ping of N bytes, the server echoes it as a Pong, the client times the
/// round trip. With --wait-mode block (the default for ping) neither side spins, so every message is
/// delivered by a doorbell interrupt: the figure is the doorbell round trip.
/// </summary>
internal static class Ping
{
    public static PingResult Run(IMessageLink link, int count, int size, TimeSpan interval, TimeSpan answerTimeout, Action<int, double>? each, CancellationToken cancellationToken)
    {
        ulong conversation = ConversationMessage.NewId();
        size = Math.Clamp(size, 8, link.MaxPayload);
        link.Send(MessageTypes.Hello, new HelloMessage(Operation.Ping, conversation, size, count, "").Encode(), cancellationToken);
        byte[] buffer = new byte[link.MaxPayload];
        Session.AwaitAccept(link, buffer, conversation, answerTimeout, cancellationToken);

        long wakeupsBefore = link.Wakeups;
        byte[] payload = new byte[size];
        var samples = new List<double>(count);
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(payload, (ulong)i);
            long start = Stopwatch.GetTimestamp();
            link.Send(MessageTypes.Ping, payload, cancellationToken);
            int n = link.Receive(buffer, out int type, cancellationToken);
            double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            if (type != MessageTypes.Pong || n != size || BinaryPrimitives.ReadUInt64LittleEndian(buffer) != (ulong)i)
                throw new ProtocolException($"expected Pong {i} of {size} bytes from {link.PeerLabel}, got {MessageTypes.Name(type)} of {n} bytes");
            samples.Add(us);
            each?.Invoke(i, us);
            if (interval > TimeSpan.Zero && i + 1 < count) Thread.Sleep(interval);
        }
        long wakeups = wakeupsBefore < 0 ? -1 : link.Wakeups - wakeupsBefore;
        link.Send(MessageTypes.Bye, ConversationMessage.Encode(conversation), cancellationToken);
        link.Flush();
        return new PingResult(samples, size, wakeups);
    }

    /// <summary>The server side of one ping conversation: echo until Bye.</summary>
    public static void Serve(IMessageLink link, HelloMessage hello, byte[] buffer, CancellationToken cancellationToken)
    {
        link.Send(MessageTypes.Accept, ConversationMessage.Encode(hello.Conversation), cancellationToken);
        while (true)
        {
            int n = link.Receive(buffer, out int type, cancellationToken);
            if (type == MessageTypes.Ping) { link.Send(MessageTypes.Pong, buffer.AsSpan(0, n), cancellationToken); continue; }
            if (type == MessageTypes.Bye) return;
            throw new ProtocolException($"{link.PeerLabel} sent {MessageTypes.Name(type)} during a ping");
        }
    }
}
