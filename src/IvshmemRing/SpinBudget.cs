using System.Diagnostics;

namespace Ivshmem.Ring;

/// <summary>
/// How long a <see cref="WaitMode.SpinThenBlock"/> wait spins before it sleeps, adapted to how long
/// the waits of one channel direction turn out to last (docs/ring.md, "The spin budget"). The rule is
/// the one Linux uses for the same choice, a virtual CPU polling before it halts (the guest's
/// haltpoll governor and KVM's halt polling): a wait that slept but ended within the longest
/// allowed spin would have been caught by spinning longer, so the budget doubles (up to the
/// maximum); a wait that outlasted the maximum was idle time that spinning could not have saved, so
/// the budget halves (down to the minimum). Waits that end while spinning leave it as it is. A
/// budget below a quarter of the maximum grows straight to that quarter, as haltpoll's starts at
/// its grow_start.
/// <para>One reader and one writer may wait at once on a channel, each with its own budget; a lost
/// update between threads only delays one adjustment, so the fields are plain.</para>
/// </summary>
internal sealed class SpinBudget
{
    private readonly long _minTicks;
    private readonly long _maxTicks;
    private readonly long _growStartTicks;   // doubling from (nearly) zero would take many waits
    private long _ticks;

    public SpinBudget(TimeSpan min, TimeSpan max)
    {
        _minTicks = ToTicks(min);
        _maxTicks = Math.Max(_minTicks, ToTicks(max));
        _growStartTicks = Math.Max(_minTicks, _maxTicks / 4);
        _ticks = _minTicks;
    }

    /// <summary>The spin of the next wait, in <see cref="Stopwatch"/> ticks.</summary>
    public long Ticks => _ticks;

    /// <summary>A wait that spun for its whole budget, slept, and was then satisfied after
    /// <paramref name="waitedTicks"/> in all.</summary>
    public void Slept(long waitedTicks)
    {
        if (waitedTicks <= _maxTicks) _ticks = Math.Min(_maxTicks, Math.Max(_ticks * 2, _growStartTicks));
        else _ticks = Math.Max(_minTicks, _ticks / 2);
    }

    private static long ToTicks(TimeSpan t) => Math.Max(0, (long)(t.TotalSeconds * Stopwatch.Frequency));
}
