using System.Diagnostics;
using System.Globalization;
using Ivshmem.Bench.Data;

namespace Ivshmem.Bench.Children;

/// <summary>
/// The ceiling: one thread copies SIZE bytes from a source window to a destination window of the same
/// size as the transports' windows (cycling through them for larger transfers), with the platform's
/// memmove. Command <c>run SIZE REPEAT VERIFY</c>, reply "done T0 T1 0 ALLOCATED". The copy is
/// checked against the source after the clock stops when it fits the window.
/// </summary>
internal sealed unsafe class MemcpyRole(ChildArgs a) : IChildRole
{
    private readonly Window _source = new(a.Long("window"), randomContent: true);
    private readonly Window _destination = new(a.Long("window"), randomContent: false);

    public void Handle(string[] command, TextWriter reply)
    {
        if (command[0] != "run") throw new ArgumentException($"unknown command '{string.Join(' ', command)}'");
        long size = long.Parse(command[1], CultureInfo.InvariantCulture);
        long w = _source.Length;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long t0 = Stopwatch.GetTimestamp();
        for (long position = 0; position < size;)
        {
            long offset = position % w;
            long n = Math.Min(size - position, w - offset);
            Buffer.MemoryCopy(_source.Pointer + offset, _destination.Pointer + offset, n, n);
            position += n;
        }
        long t1 = Stopwatch.GetTimestamp();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long check = Math.Min(size, w);
        if (!_source.Span(0, (int)check).SequenceEqual(_destination.Span(0, (int)check)))
            throw new InvalidDataException($"memcpy of {size} bytes: the destination differs from the source");
        reply.WriteLine(FormattableString.Invariant($"done {t0} {t1} 0 {allocated}"));
    }

    public void Dispose()
    {
        _source.Dispose();
        _destination.Dispose();
    }
}
