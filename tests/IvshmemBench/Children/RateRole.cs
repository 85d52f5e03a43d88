using System.Diagnostics;
using System.Globalization;
using Ivshmem.Bench.Ring;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Children;

/// <summary>
/// One-way rate of 64-byte messages through the ring, both sides busy-polling. Command
/// <c>run N BATCH</c>. BATCH 1: the sender copies each message in with TryWrite (one publish each),
/// the receiver copies each out with TryRead (one release each). BATCH k &gt; 1: the sender claims and
/// commits up to k messages in place and publishes them with one store; the receiver reads up to k in
/// place and releases them with one store. Every message carries its sequence number, checked on
/// arrival. Replies: receiver "ready", then "done T1 ALLOCATED"; sender "done T0 ALLOCATED".
/// </summary>
internal sealed unsafe class RateRole : IChildRole
{
    public const int MessageSize = 64;
    private const int MessageType = Ivshmem.Ring.RecordTypes.FirstApplicationType;

    private readonly bool _sender;
    private readonly IvshmemEndpoint _endpoint;
    private readonly RingChannel _channel;
    private readonly byte[] _message = new byte[MessageSize];

    public RateRole(ChildArgs a)
    {
        _sender = a.Role == "rate-send";
        _endpoint = RingEndpoints.Open(a);
        _channel = RingEndpoints.OpenChannel(_endpoint, a, new RingChannelOptions { WaitMode = WaitMode.BusyPoll, Timeout = TimeSpan.FromMinutes(2) });
    }

    public void Handle(string[] command, TextWriter reply)
    {
        if (command[0] != "run") throw new ArgumentException($"unknown command '{string.Join(' ', command)}'");
        long n = long.Parse(command[1], CultureInfo.InvariantCulture);
        int batch = int.Parse(command[2], CultureInfo.InvariantCulture);
        if (_sender)
        {
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Stopwatch.GetTimestamp();
            if (batch == 1) SendOneByOne(n);
            else SendBatched(n, batch);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            reply.WriteLine(FormattableString.Invariant($"done {t0} {allocated}"));
        }
        else
        {
            reply.WriteLine("ready");
            reply.Flush();
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            if (batch == 1) ReceiveOneByOne(n);
            else ReceiveBatched(n, batch);
            long t1 = Stopwatch.GetTimestamp();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            reply.WriteLine(FormattableString.Invariant($"done {t1} {allocated}"));
        }
    }

    private void SendOneByOne(long n)
    {
        RingProducer producer = _channel.Producer;
        Span<byte> message = _message;
        for (long i = 0; i < n; i++)
        {
            BitConverter.TryWriteBytes(message, i);
            while (!producer.TryWrite(message, MessageType)) _channel.WaitForSpace(MessageSize);
        }
    }

    private void SendBatched(long n, int batch)
    {
        RingProducer producer = _channel.Producer;
        for (long i = 0; i < n;)
        {
            int k = 0;
            while (k < batch && i < n && producer.TryClaim(MessageSize, out Span<byte> record))
            {
                BitConverter.TryWriteBytes(record, i);
                producer.Commit(MessageSize, MessageType);
                i++;
                k++;
            }
            producer.Publish();
            if (k == 0) _channel.WaitForSpace(MessageSize);
        }
    }

    private void ReceiveOneByOne(long n)
    {
        RingConsumer consumer = _channel.Consumer;
        Span<byte> message = _message;
        for (long i = 0; i < n; i++)
        {
            int length;
            while (!consumer.TryRead(message, out length, out _)) _channel.WaitForData();
            if (length != MessageSize || BitConverter.ToInt64(message) != i) throw OutOfSequence(i, length);
        }
    }

    private void ReceiveBatched(long n, int batch)
    {
        RingConsumer consumer = _channel.Consumer;
        for (long i = 0; i < n;)
        {
            int k = 0;
            while (k < batch && consumer.TryRead(out RingRecord record))
            {
                if (record.Payload.Length != MessageSize || BitConverter.ToInt64(record.Payload) != i) throw OutOfSequence(i, record.Payload.Length);
                i++;
                k++;
            }
            if (k > 0) consumer.Release();
            else _channel.WaitForData();
        }
    }

    private static InvalidDataException OutOfSequence(long expected, int length) =>
        new($"message {expected}: got a {length}-byte message with another sequence number (lost, repeated or reordered)");

    public void Dispose() => _endpoint.Dispose();
}
