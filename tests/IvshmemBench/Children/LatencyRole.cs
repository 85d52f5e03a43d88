using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Ivshmem.Bench.Model;
using Ivshmem.Bench.Native;
using Ivshmem.Bench.Ring;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Children;

/// <summary>
/// Round trips of 64-byte messages: "ping" sends a message and waits for its echo, "pong" echoes.
/// Command <c>run N WARMUP</c>: WARMUP untimed round trips (the first run goes on warming up until
/// <see cref="FirstWarmup"/> has passed), then N timed one by one, then one round trip with the
/// sequence number -1 that tells pong the run is over; ping answers "done P50 P99 P999 MEAN
/// ALLOCATED ROUND_P50 USAGE" (microseconds, over every timed round trip of every run so far, so that
/// a coordinator can interleave runs of several pairs; bytes allocated during this timed loop; the p50
/// of this run alone; the <see cref="ThreadUsage"/> of the timed loop), pong "done ALLOCATED USAGE"
/// (from the first timed message, which carries <see cref="Timed"/>, to the end mark: the same round
/// trips). Command <c>idle MS</c> (ring pong only): waits MS
/// milliseconds for a message that
/// never comes and answers "idle CPU_PERCENT", the CPU the whole process used meanwhile.
/// </summary>
internal sealed unsafe class LatencyRole : IChildRole
{
    public const int MessageSize = 64;

    /// <summary>How long the first run warms up at least: the .NET runtime compiles a method again,
    /// optimized, only after it has been called for a while (tiered compilation: about 30 calls, then
    /// a background compile once no new methods have been compiled for 100 ms); a thousand round
    /// trips of 25 us each are over before that, and a ring timed on its first tier would be measured
    /// against a pipe whose path is mostly the kernel's.</summary>
    private static readonly TimeSpan FirstWarmup = TimeSpan.FromSeconds(1);

    private const long EndOfRun = -1;

    /// <summary>Set in the sequence numbers of the timed round trips, so that pong knows where they begin.</summary>
    private const long Timed = 1L << 40;

    private bool _warm;

    private readonly bool _ping;
    private readonly IvshmemEndpoint? _endpoint;
    private readonly RingChannel? _channel;
    private readonly int _fdIn = -1, _fdOut = -1;
    private readonly byte* _message;
    private readonly byte* _echo;
    private readonly RoundTripSamples _samples = new();

    private LatencyRole(ChildArgs a)
    {
        _ping = a.Role == "ping";
        Transport transport = TransportNames.Parse(a.String("transport"));
        _message = (byte*)NativeMemory.AlignedAlloc(MessageSize, 64);
        _echo = (byte*)NativeMemory.AlignedAlloc(MessageSize, 64);
        new Span<byte>(_message, MessageSize).Fill(0x5A);
        if (transport.IsRing())
        {
            var mode = Enum.Parse<WaitMode>(a.String("mode"), ignoreCase: true);
            _endpoint = RingEndpoints.Open(a);
            _channel = RingEndpoints.OpenChannel(_endpoint, a, new RingChannelOptions { WaitMode = mode, Timeout = TimeSpan.FromMinutes(2) });
        }
        else
        {
            _fdIn = a.Int("fd-in");
            _fdOut = a.Has("fd-out") ? a.Int("fd-out") : _fdIn;
        }
    }

    public static LatencyRole Create(ChildArgs a) => new(a);

    public void Handle(string[] command, TextWriter reply)
    {
        switch (command[0])
        {
            case "run":
                int n = int.Parse(command[1], CultureInfo.InvariantCulture);
                int warmup = int.Parse(command[2], CultureInfo.InvariantCulture);
                if (_ping) reply.WriteLine(Ping(n, warmup));
                else
                {
                    long allocated = Pong(out ThreadUsage used);
                    reply.WriteLine(FormattableString.Invariant($"done {allocated} {used.Format()}"));
                }
                break;
            case "idle" when !_ping && _channel is not null:
                reply.WriteLine(FormattableString.Invariant($"idle {Idle(int.Parse(command[1], CultureInfo.InvariantCulture)):0.###}"));
                break;
            default:
                throw new ArgumentException($"unknown command '{string.Join(' ', command)}'");
        }
    }

    private string Ping(int n, int warmup)
    {
        var samples = new long[n];
        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || (!_warm && Stopwatch.GetElapsedTime(warmupStart) < FirstWarmup); i++) RoundTrip(i);
        _warm = true;
        ThreadUsage usageBefore = ThreadUsage.Now();
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < n; i++)
        {
            long start = Stopwatch.GetTimestamp();
            RoundTrip(Timed + i);
            samples[i] = Stopwatch.GetTimestamp() - start;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        ThreadUsage used = ThreadUsage.Now() - usageBefore;
        RoundTrip(EndOfRun);
        return _samples.Add(samples, allocated, used);
    }

    private void RoundTrip(long sequence)
    {
        *(long*)_message = sequence;
        if (_channel is not null)
        {
            _channel.Send(new ReadOnlySpan<byte>(_message, MessageSize));
            int length = _channel.Receive(new Span<byte>(_echo, MessageSize), out _);
            if (length != MessageSize) throw new InvalidDataException($"echo of {length} bytes, expected {MessageSize}");
        }
        else
        {
            Posix.WriteAll(_fdOut, _message, MessageSize);
            Posix.ReadExactly(_fdIn, _echo, MessageSize);
        }
        if (*(long*)_echo != sequence) throw new InvalidDataException($"echo {*(long*)_echo} for message {sequence}");
    }

    /// <summary>Echoes until the message that ends the run (echoed too); <paramref name="used"/>: from
    /// receiving the first timed message to receiving the end mark.</summary>
    private long Pong(out ThreadUsage used)
    {
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        ThreadUsage? timedFrom = null;
        do
        {
            if (_channel is not null)
            {
                int length = _channel.Receive(new Span<byte>(_echo, MessageSize), out _);
                _channel.Send(new ReadOnlySpan<byte>(_echo, length));
            }
            else
            {
                Posix.ReadExactly(_fdIn, _echo, MessageSize);
                Posix.WriteAll(_fdOut, _echo, MessageSize);
            }
            if (timedFrom is null && (*(long*)_echo & Timed) != 0 && *(long*)_echo != EndOfRun) timedFrom = ThreadUsage.Now();
        }
        while (*(long*)_echo != EndOfRun);
        used = ThreadUsage.Now() - (timedFrom ?? ThreadUsage.Now());
        return GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    }

    /// <summary>CPU percent of this process while its channel waits <paramref name="ms"/> for nothing.</summary>
    private double Idle(int ms)
    {
        RingChannel channel = _channel!;
        var idle = new RingChannel(channel.Producer, channel.Consumer, _endpoint!.Interrupts, null,
            channel.Options with { Timeout = TimeSpan.FromMilliseconds(ms) });
        TimeSpan cpuBefore = Posix.ProcessCpuTime();
        long start = Stopwatch.GetTimestamp();
        try
        {
            idle.WaitForData();
            throw new InvalidOperationException("a message arrived while the peer was meant to be idle");
        }
        catch (TimeoutException)
        {
        }
        TimeSpan cpu = Posix.ProcessCpuTime() - cpuBefore;
        return cpu.TotalSeconds / Stopwatch.GetElapsedTime(start).TotalSeconds * 100;
    }

    public void Dispose()
    {
        _endpoint?.Dispose();
        if (_fdOut != _fdIn) Posix.Close(_fdOut);
        Posix.Close(_fdIn);
        NativeMemory.AlignedFree(_message);
        NativeMemory.AlignedFree(_echo);
    }
}
