using System.Diagnostics;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// The coordinator runs with tiered compilation off, its children as the user set it. With it on,
/// the runtime recompiles the coordinator's hot methods (and the library code they call) in a
/// background thread, at moments of its choosing; the coordinator is pinned to the sender's CPU, so
/// that thread took the CPU from a sender in the middle of a transfer: perf (`perf record -a -e
/// cpu-clock` over 24 transfers of 300 MB through the ring, 2026-12-05 19:02 UTC) found the
/// coordinator's ".NET Tiered Compilation" thread in 15% of CPU 0's samples while transfers ran, and
/// the transfers it met were those that ran at half speed, their receiver having waited 2-4 ms for
/// the first byte. So the coordinator starts itself again with DOTNET_TieredCompilation=0 (every
/// method compiled once, optimized, when first called) and gives its children the setting it found.
/// </summary>
internal static class CoordinatorJit
{
    private const string Setting = "DOTNET_TieredCompilation";

    /// <summary>Set in the restarted coordinator: the children's value of <see cref="Setting"/> ("-" for
    /// none).</summary>
    private const string ChildrenSetting = "IVSHMEM_BENCH_CHILDREN_TIERED_COMPILATION";

    /// <summary>Runs the coordinator again without tiered compilation and returns its exit status; null
    /// when this already is that coordinator (or the setting is off anyway).</summary>
    public static int? RunWithoutTiering(IReadOnlyList<string> args)
    {
        string? setting = Environment.GetEnvironmentVariable(Setting);
        if (Environment.GetEnvironmentVariable(ChildrenSetting) is not null || setting == "0") return null;
        var (program, prefix) = Child.SelfCommand();
        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (string p in prefix) start.ArgumentList.Add(p);
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment[Setting] = "0";
        start.Environment[ChildrenSetting] = setting ?? "-";
        using Process coordinator = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        coordinator.WaitForExit();
        return coordinator.ExitCode;
    }

    /// <summary>Gives a child the tiered-compilation setting the user ran the benchmark with.</summary>
    public static void RestoreForChild(ProcessStartInfo start)
    {
        string? setting = Environment.GetEnvironmentVariable(ChildrenSetting);
        if (setting is null) return;
        start.Environment.Remove(ChildrenSetting);
        if (setting == "-") start.Environment.Remove(Setting);
        else start.Environment[Setting] = setting;
    }
}
