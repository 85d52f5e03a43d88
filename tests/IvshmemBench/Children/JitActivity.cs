using System.Runtime;

namespace Ivshmem.Bench.Children;

/// <summary>
/// What the runtime compiled in this process while a transfer ran: methods compiled (first
/// compilations and the optimized recompiles of tiered compilation alike) and the time spent
/// compiling, on any thread. A recompile runs on a background thread of the process, on the CPU the
/// process is pinned to, so it takes that CPU from the transfer while it lasts. Written as
/// "METHODS/MICROSECONDS" at the end of a "done" reply, for --verbose.
/// </summary>
internal readonly struct JitActivity
{
    private readonly long _methods;
    private readonly TimeSpan _time;

    private JitActivity(long methods, TimeSpan time) => (_methods, _time) = (methods, time);

    public static JitActivity Start() => new(JitInfo.GetCompiledMethodCount(), JitInfo.GetCompilationTime());

    public string Stop() => FormattableString.Invariant(
        $"{JitInfo.GetCompiledMethodCount() - _methods}/{(long)(JitInfo.GetCompilationTime() - _time).TotalMicroseconds}");
}
