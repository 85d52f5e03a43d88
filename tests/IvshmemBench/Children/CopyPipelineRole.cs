using System.Diagnostics;
using System.Globalization;
using Ivshmem.Bench.Data;
using Ivshmem.Bench.Native;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Children;

/// <summary>
/// The ceiling of any transport that copies in on one core and out on another: two threads of one
/// process, each pinned to one of the pair's CPUs, pass SIZE bytes from a source window to a
/// destination window through <see cref="Slots"/> slots of <see cref="SlotBytes"/> (a buffer that
/// stays in the caches), with nothing between them but two counters. No records, no doorbells, no
/// checks: what the ring would reach if everything but its two copies cost nothing. The receiver
/// copies out as a ring stream's reader does, with non-temporal stores where the reader would ask for
/// <see cref="StreamingCopy.ReadThreshold"/> or more (docs/ring.md, "The copy ceiling"). Command
/// <c>run SIZE REPEAT VERIFY</c>, reply "done T0 T1 0 ALLOCATED", as <see cref="MemcpyRole"/>.
/// </summary>
internal sealed unsafe class CopyPipelineRole : IChildRole
{
    private const int SlotBytes = 64 * 1024;
    private const int Slots = 4;

    private readonly Window _source;
    private readonly Window _destination;
    private readonly Window _buffer = new(SlotBytes * Slots, randomContent: false);
    private readonly int? _senderCpu;
    private readonly int? _receiverCpu;
    private long _published;    // slots filled by the sender
    private long _released;     // slots emptied by the receiver
    private int _ready;         // threads pinned and spinning, waiting for each other
    private long _t0, _t1;      // the sender's start and the receiver's end, each taken on its own CPU
    private long _allocated;    // by the sender's loop

    public CopyPipelineRole(ChildArgs a)
    {
        _source = new Window(a.Long("window"), randomContent: true);
        _destination = new Window(a.Long("window"), randomContent: false);
        string cpus = a.String("cpus", "");
        if (cpus.Length > 0)
        {
            string[] two = cpus.Split(',');
            (_senderCpu, _receiverCpu) = (int.Parse(two[0], CultureInfo.InvariantCulture), int.Parse(two[1], CultureInfo.InvariantCulture));
        }
    }

    public void Handle(string[] command, TextWriter reply)
    {
        if (command[0] != "run") throw new ArgumentException($"unknown command '{string.Join(' ', command)}'");
        long size = long.Parse(command[1], CultureInfo.InvariantCulture);
        _published = _released = 0;
        _ready = 0;
        // The two threads time themselves: this one sleeps in Join meanwhile, off both CPUs (a third
        // thread spinning on two CPUs would take one of them from the copy).
        var sender = new Thread(() => Send(size)) { Name = "pipeline sender" };
        var receiver = new Thread(() => Receive(size)) { Name = "pipeline receiver" };
        sender.Start();
        receiver.Start();
        sender.Join();
        receiver.Join();
        long check = Math.Min(size, _source.Length);
        if (!_source.Span(0, (int)check).SequenceEqual(_destination.Span(0, (int)check)))
            throw new InvalidDataException($"copy pipeline of {size} bytes: the destination differs from the source");
        reply.WriteLine(FormattableString.Invariant($"done {_t0} {_t1} 0 {_allocated}"));
    }

    /// <summary>Pins this thread and waits, spinning, until the other one is awake on its CPU too.</summary>
    private void Ready(int? cpu)
    {
        if (cpu is int c) Posix.PinThisThread(c);
        Interlocked.Increment(ref _ready);
        while (Volatile.Read(ref _ready) < 2) Thread.SpinWait(4);
    }

    private void Send(long size)
    {
        Ready(_senderCpu);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        _t0 = Stopwatch.GetTimestamp();
        long w = _source.Length;
        for (long position = 0, slot = 0; position < size; slot++)
        {
            while (slot - Volatile.Read(ref _released) >= Slots) Thread.SpinWait(4);
            int n = (int)Math.Min(Math.Min(SlotBytes, size - position), w - position % w);
            Buffer.MemoryCopy(_source.Pointer + position % w, _buffer.Pointer + slot % Slots * SlotBytes, SlotBytes, n);
            Volatile.Write(ref _published, slot + 1);
            position += n;
        }
        _allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    }

    private void Receive(long size)
    {
        Ready(_receiverCpu);
        long w = _destination.Length;
        for (long position = 0, slot = 0; position < size; slot++)
        {
            while (Volatile.Read(ref _published) <= slot) Thread.SpinWait(4);
            // What a stream's reader would ask for here, and so how the ring's reader copies out.
            long asked = Math.Min(size - position, w - position % w);
            int n = (int)Math.Min(SlotBytes, asked);
            byte* from = _buffer.Pointer + slot % Slots * SlotBytes, to = _destination.Pointer + position % w;
            if (asked >= StreamingCopy.ReadThreshold) StreamingCopy.Copy(new ReadOnlySpan<byte>(from, n), new Span<byte>(to, n));
            else Buffer.MemoryCopy(from, to, n, n);
            Volatile.Write(ref _released, slot + 1);
            position += n;
        }
        StreamingCopy.Fence();
        _t1 = Stopwatch.GetTimestamp();
    }

    public void Dispose()
    {
        _source.Dispose();
        _destination.Dispose();
        _buffer.Dispose();
    }
}
