using System.Globalization;
using Ivshmem.Bench.Native;

namespace Ivshmem.Bench.Children;

/// <summary>
/// What one thread has used: CPU time, exact (CLOCK_THREAD_CPUTIME_ID, nanoseconds), how the kernel
/// split it between user and system mode (getrusage RUSAGE_THREAD: sampled at the scheduler tick,
/// then scaled to the exact total, so the split is an estimate over short loops), and how often the
/// thread went to sleep (voluntary context switches). Taken around a latency loop, it says how much
/// of a round trip each side spends on a CPU, in its own code or in the kernel's, and how much is
/// neither: the wake-up (docs/ring.md, "The wake-up path").
/// </summary>
internal readonly record struct ThreadUsage(long CpuNs, long UserUs, long SystemUs, long Sleeps)
{
    public static ThreadUsage Now() => Posix.ThisThreadUsage();

    public static ThreadUsage operator -(ThreadUsage a, ThreadUsage b) =>
        new(a.CpuNs - b.CpuNs, a.UserUs - b.UserUs, a.SystemUs - b.SystemUs, a.Sleeps - b.Sleeps);

    public static ThreadUsage operator +(ThreadUsage a, ThreadUsage b) =>
        new(a.CpuNs + b.CpuNs, a.UserUs + b.UserUs, a.SystemUs + b.SystemUs, a.Sleeps + b.Sleeps);

    /// <summary>"CPU_NS USER_US SYSTEM_US SLEEPS", as children append it to their replies.</summary>
    public string Format() => FormattableString.Invariant($"{CpuNs} {UserUs} {SystemUs} {Sleeps}");

    /// <summary>The four fields <see cref="Format"/> wrote, starting at <paramref name="at"/>.</summary>
    public static ThreadUsage Parse(string[] fields, int at) => new(
        long.Parse(fields[at], CultureInfo.InvariantCulture), long.Parse(fields[at + 1], CultureInfo.InvariantCulture),
        long.Parse(fields[at + 2], CultureInfo.InvariantCulture), long.Parse(fields[at + 3], CultureInfo.InvariantCulture));
}
