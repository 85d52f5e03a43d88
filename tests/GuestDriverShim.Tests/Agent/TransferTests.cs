using System.IO.Hashing;
using Ivshmem.Agent.Cli;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;
using Ivshmem.Agent.Transfer;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Tests.Agent;

/// <summary>send/recv over a real ring between two in-process peers (the rings hold ~170 KiB, so
/// these transfers wrap many times and both sides wait for each other).</summary>
public sealed class TransferTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly AgentPair _agents = new();

    public void Dispose() => _agents.Dispose();

    private static byte[] RandomBytes(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    private static Progress Silent => new(null, null);

    private Task<(TransferResult Result, byte[] Data)> StartReceiver()
    {
        RingLink link = _agents.BToA();
        return _agents.Start(() =>
        {
            var output = new MemoryStream();
            TransferResult result = Receiver.Run(link, _ => output, () => { }, Silent, Limit, _agents.Stopping);
            return (result, output.ToArray());
        });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheDataArrivesVerifiedWhicheverSideStartsFirst(bool receiverFirst)
    {
        byte[] data = RandomBytes(3 << 20);
        Task<(TransferResult Result, byte[] Data)>? receiver = receiverFirst ? StartReceiver() : null;
        RingLink sender = _agents.AToB();
        Task<TransferResult> sending = _agents.Start(() => Sender.Run(sender, new MemoryStream(data), data.Length, "data.bin", Silent, Limit, _agents.Stopping));
        receiver ??= StartReceiver();

        TransferResult sent = await sending.WaitAsync(Limit);
        var (received, output) = await receiver.WaitAsync(Limit);
        Assert.Equal(data, output);
        UInt128 expected = XxHash128.HashToUInt128(data);
        Assert.Equal(expected, sent.Hash);
        Assert.Equal(expected, received.Hash);
        Assert.Equal(data.Length, sent.Bytes);
        Assert.True(sent.Wakeups > 0, "the sender must have slept on the doorbell while the ring was full");
    }

    [Fact]
    public async Task AnEmptyTransferIsVerifiedToo()
    {
        Task<(TransferResult Result, byte[] Data)> receiver = StartReceiver();
        TransferResult sent = Sender.Run(_agents.AToB(), new MemoryStream(), 0, "", Silent, Limit, CancellationToken.None);
        Assert.Empty((await receiver.WaitAsync(Limit)).Data);
        Assert.Equal(XxHash128.HashToUInt128([]), sent.Hash);
    }

    [Fact]
    public async Task AnAbandonedRunIsSkippedOnceTheNextSenderHasOpened()
    {
        // An earlier sender started a transfer and died: its Hello and some data sit in the ring.
        RingLink abandoned = _agents.AToB();
        abandoned.Send(MessageTypes.Hello, new HelloMessage(Operation.Transfer, 1, 1000, 0, "old").Encode());
        abandoned.Send(MessageTypes.Data, RandomBytes(500));

        // The next sender opens a new session; a receiver that starts now begins there.
        byte[] data = RandomBytes(1 << 20);
        RingLink next = _agents.AToB();
        Task<TransferResult> sending = _agents.Start(() => Sender.Run(next, new MemoryStream(data), data.Length, "new", Silent, Limit, _agents.Stopping));
        Task<(TransferResult Result, byte[] Data)> receiver = StartReceiver();

        await sending.WaitAsync(Limit);
        Assert.Equal(data, (await receiver.WaitAsync(Limit)).Data);
    }

    [Fact]
    public async Task AReceiverThatTookAnAbandonedRunFailsWithTheReasonWhenTheNextSenderStarts()
    {
        RingLink abandoned = _agents.AToB();
        abandoned.Send(MessageTypes.Hello, new HelloMessage(Operation.Transfer, 1, 1000, 0, "old").Encode());
        abandoned.Send(MessageTypes.Data, RandomBytes(500));
        Task<(TransferResult Result, byte[] Data)> receiver = StartReceiver();
        SpinWait.SpinUntil(() => abandoned.Channel.Producer.IsDrained());  // it has read the old run

        RingLink next = _agents.AToB();
        next.Send(MessageTypes.Hello, new HelloMessage(Operation.Transfer, 2, 10, 0, "new").Encode());

        var e = await Assert.ThrowsAsync<PeerGoneException>(() => receiver.WaitAsync(Limit));
        Assert.Contains("re-opened", e.Message);
    }

    [Fact]
    public async Task AChecksumMismatchFailsTheReceiverAndIsReportedToTheSender()
    {
        Task<(TransferResult Result, byte[] Data)> receiver = StartReceiver();
        RingLink forger = _agents.AToB();
        byte[] sent = "what was sent"u8.ToArray();
        forger.Send(MessageTypes.Hello, new HelloMessage(Operation.Transfer, 42, sent.Length, 0, "").Encode());
        forger.Send(MessageTypes.Data, sent);
        forger.Send(MessageTypes.End, new EndMessage(42, sent.Length, XxHash128.HashToUInt128("what was meant"u8)).Encode());

        await Assert.ThrowsAsync<ChecksumMismatchException>(() => receiver.WaitAsync(Limit));
        byte[] buffer = new byte[forger.MaxPayload];
        var (type, length) = forger.ReceiveFirst(buffer, (t, _) => t == MessageTypes.Ack, Limit);
        AckMessage ack = AckMessage.Decode(buffer.AsSpan(0, length));
        Assert.Equal(AckStatus.ChecksumMismatch, ack.Status);
        Assert.Equal(XxHash128.HashToUInt128(sent), ack.Hash);
    }

    [Fact]
    public async Task ASenderWhoseInputFailsTellsTheReceiverWhy()
    {
        Task<(TransferResult Result, byte[] Data)> receiver = StartReceiver();
        var input = new FailingStream(RandomBytes(300_000), "disk on fire");

        var e = Assert.Throws<IOException>(() => Sender.Run(_agents.AToB(), input, null, "", Silent, Limit, CancellationToken.None));
        Assert.Contains("disk on fire", e.Message);
        var aborted = await Assert.ThrowsAsync<PeerAbortedException>(() => receiver.WaitAsync(Limit));
        Assert.Contains("disk on fire", aborted.Message);
    }

    [Fact]
    public async Task ASenderStopsAtOnceWhenTheReceiverLeaves()
    {
        // Nobody reads: the ring fills, the sender sleeps; then the daemon marks vm-b gone and rings
        // the control vector, which must end the sleep with the reason.
        byte[] data = RandomBytes(4 << 20);
        RingLink link = _agents.AToB();
        Task<TransferResult> sending = _agents.Start(() => Sender.Run(link, new MemoryStream(data), data.Length, "", Silent, TimeSpan.FromMinutes(5), _agents.Stopping));
        SpinWait.SpinUntil(() => link.Channel.Producer.Position > 100_000);
        _agents.BLeaves();

        var gone = await Assert.ThrowsAsync<PeerGoneException>(() => sending.WaitAsync(Limit));
        Assert.Contains("'vm-b' (id 11) is gone", gone.Message);
        Assert.Equal(ExitCodes.PeerGone, AgentApp.Classify(gone).Code);
    }

    /// <summary>Gives some bytes, then fails like a broken disk.</summary>
    private sealed class FailingStream(byte[] data, string why) : Stream
    {
        private int _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= data.Length) throw new IOException(why);
            int n = Math.Min(count, data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer.AsSpan(offset));
            _position += n;
            return n;
        }
    }
}
