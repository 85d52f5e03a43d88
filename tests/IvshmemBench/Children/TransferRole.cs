using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using Ivshmem.Bench.Data;
using Ivshmem.Bench.Model;
using Ivshmem.Bench.Native;
using Ivshmem.Bench.Ring;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Children;

/// <summary>
/// One side of the throughput measurement: the sender or the receiver of transfers over one transport.
/// Command: <c>run SIZE REPEAT VERIFY</c>. The receiver answers "ready" before it starts receiving
/// and "done T1 HASH ALLOCATED T_WAIT" once it holds every byte (T_WAIT: when it began to wait, for
/// --verbose); the sender answers "done T0 HASH ALLOCATED T_SENT WINDOW" (T_SENT: when its last byte
/// was handed over, and WINDOW the ring's hot window in use then, 0 for other transports: for
/// --verbose). The sender is sent <c>prepare SIZE REPEAT VERIFY</c> first and
/// answers "prepared" once it has stamped and hashed what it will send, so that work, which grows
/// with the size, is done before the receiver starts waiting, and every transfer starts the same
/// short while after the receiver did, whatever its size.
/// T0 is taken just before the sender's first byte, T1 just after the receiver's last: the
/// monotonic clock is the same in both processes. Every stamp is checked inline (see
/// <see cref="Stamps"/>); HASH is the XxHash3 of all the bytes, computed inline on VERIFY repeats
/// (the untimed warm-ups) and otherwise after the clock stopped when the transfer fits the window
/// (0 when neither: the coordinator compares hashes where both sides sent one).
/// </summary>
internal sealed unsafe class TransferRole : IChildRole
{
    private readonly bool _sender;
    private readonly Transport _transport;
    private readonly Window _window;
    private readonly int _chunk;
    private readonly IvshmemEndpoint? _endpoint;
    private readonly RingChannel? _channel;
    private readonly IByteSink? _sink;
    private readonly IByteSource? _source;
    private readonly int _fd = -1;
    private (long Size, int Repeat) _prepared;
    private ulong _preparedHash;

    private TransferRole(ChildArgs a)
    {
        _sender = a.String("side") == "send";
        _transport = TransportNames.Parse(a.String("transport"));
        _chunk = a.Int("chunk");
        _window = new Window(a.Long("window"), randomContent: _sender);
        if (_transport.IsRing())
        {
            _endpoint = RingEndpoints.Open(a);
            Posix.Prefault(_endpoint.Region.Memory.Pointer, _endpoint.Region.Memory.Length);
            _channel = RingEndpoints.OpenChannel(_endpoint, a, new RingChannelOptions
            {
                WaitMode = Enum.Parse<WaitMode>(a.String("mode", nameof(WaitMode.SpinThenBlock))),
                Timeout = TimeSpan.FromMinutes(5),
            });
            _channel.Producer.HotWindow = a.Long("hot-window", RingLayout.DefaultHotWindow);
            if (_transport == Transport.Ring)
            {
                var stream = new RingStreamTransport(_channel.AsStream());
                _sink = stream;
                _source = stream;
            }
            else
            {
                int limit = Math.Min(_chunk, _channel.MaxPayload / Stamps.BlockSize * Stamps.BlockSize);
                _sink = new ZeroCopySink(_channel, limit);
            }
        }
        else
        {
            _fd = a.Int("fd");
            var fd = new FdTransport(_fd);
            _sink = fd;
            _source = fd;
        }
    }

    public static TransferRole Create(ChildArgs a) => new(a);

    public void Handle(string[] command, TextWriter reply)
    {
        if (command[0] is not ("run" or "prepare") || (command[0] == "prepare" && !_sender))
            throw new ArgumentException($"unknown command '{string.Join(' ', command)}'");
        long size = long.Parse(command[1], CultureInfo.InvariantCulture);
        int repeat = int.Parse(command[2], CultureInfo.InvariantCulture);
        bool verify = command[3] == "1";
        if (command[0] == "prepare")
        {
            _preparedHash = Prepare(size, repeat, verify);
            _prepared = (size, repeat);
            reply.WriteLine("prepared");
        }
        else if (_sender)
        {
            var jit = JitActivity.Start();
            var (t0, hash, allocated) = Send(size, repeat, verify);
            long finished = Stopwatch.GetTimestamp();
            long window = _channel?.Producer.HotWindowInUse ?? 0;
            reply.WriteLine(FormattableString.Invariant($"done {t0} {hash} {allocated} {finished} {window} {jit.Stop()}"));
        }
        else
        {
            reply.WriteLine("ready");
            reply.Flush();
            long waiting = Stopwatch.GetTimestamp();
            var jit = JitActivity.Start();
            var (t1, hash, allocated) = _transport == Transport.RingZeroCopy ? ReceiveInPlace(size, repeat, verify) : Receive(size, repeat, verify);
            reply.WriteLine(FormattableString.Invariant($"done {t1} {hash} {allocated} {waiting} {jit.Stop()}"));
        }
    }

    /// <summary>The hash of a timed transfer that fits the window, taken over the same stamps the send
    /// loop writes again (0 when the transfer is hashed inline or does not fit).</summary>
    private ulong Prepare(long size, int repeat, bool verify)
    {
        if (verify || size > _window.Length) return 0;
        Stamps.Write(_window.Pointer, 0, size, size, repeat);
        return XxHash3.HashToUInt64(_window.Span(0, (int)Math.Min(size, int.MaxValue)));
    }

    private (long T0, ulong Hash, long Allocated) Send(long size, int repeat, bool verify)
    {
        long w = _window.Length;
        // Hashed when the coordinator said "prepare", before the receiver began to wait.
        ulong hash = _prepared == (size, repeat) ? _preparedHash : Prepare(size, repeat, verify);
        XxHash3? inline = verify ? new XxHash3() : null;
        IByteSink sink = _sink!;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long t0 = Stopwatch.GetTimestamp();
        for (long position = 0; position < size;)
        {
            long offset = position % w;
            int n = (int)Math.Min(Math.Min(_chunk, size - position), w - offset);
            byte* at = _window.Pointer + offset;
            Stamps.Write(at, position, n, size, repeat);
            inline?.Append(new ReadOnlySpan<byte>(at, n));
            sink.Write(at, n);
            position += n;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        if (inline is not null) hash = inline.GetCurrentHashAsUInt64();
        return (t0, hash, allocated);
    }

    private (long T1, ulong Hash, long Allocated) Receive(long size, int repeat, bool verify)
    {
        long w = _window.Length;
        XxHash3? inline = verify ? new XxHash3() : null;
        var checker = new StampChecker();
        IByteSource source = _source!;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long received = 0;
        while (received < size)
        {
            long offset = received % w;
            // Everything still to come that fits the window from here, as a receiver that wants all x
            // bytes asks for them; each transport hands over what it has.
            int max = (int)Math.Min(Math.Min(size - received, w - offset), int.MaxValue);
            int n = source.Read(_window.Pointer + offset, max);
            inline?.Append(new ReadOnlySpan<byte>(_window.Pointer + offset, n));
            received += n;
            long bad = checker.Advance(_window, received, repeat);
            if (bad >= 0) throw BadStamp(bad, repeat);
        }
        long t1 = Stopwatch.GetTimestamp();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        ulong hash = inline is not null ? inline.GetCurrentHashAsUInt64()
            : size <= w ? XxHash3.HashToUInt64(_window.Span(0, (int)size))
            : 0;
        return (t1, hash, allocated);
    }

    /// <summary>The zero-copy receiver: reads each record where it lies in the ring, checks its stamps
    /// there, and releases it; the payload is never copied out.</summary>
    private (long T1, ulong Hash, long Allocated) ReceiveInPlace(long size, int repeat, bool verify)
    {
        RingChannel channel = _channel!;
        XxHash3? inline = verify ? new XxHash3() : null;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long received = 0;
        while (received < size)
        {
            RingRecord record = channel.Receive();
            ReadOnlySpan<byte> payload = record.Payload;
            int n = payload.Length;
            if (record.Type != ZeroCopySink.RecordType || n == 0 || n > size - received || (n % Stamps.BlockSize != 0 && received + n != size))
                throw new InvalidDataException($"at position {received} of {size}: a record of type {record.Type} and {n} bytes does not belong to this transfer");
            fixed (byte* p = payload)
            {
                long bad = Stamps.Check(p, received, n, size, repeat);
                if (bad >= 0) throw BadStamp(bad, repeat);
            }
            inline?.Append(payload);
            received += n;
            channel.Consumer.Release();
        }
        long t1 = Stopwatch.GetTimestamp();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        return (t1, inline?.GetCurrentHashAsUInt64() ?? 0, allocated);
    }

    private static InvalidDataException BadStamp(long position, int repeat) =>
        new($"{position}: the block stamp is wrong (transfer {repeat}): data lost, repeated, reordered or stale");

    public void Dispose()
    {
        _endpoint?.Dispose();
        _window.Dispose();
        Posix.Close(_fd);
    }
}
