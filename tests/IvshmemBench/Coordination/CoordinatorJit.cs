using System.Diagnostics;

namespace Ivshmem.Bench.Coordination;

/// <summary>
/// The coordinator and its children run with tiered compilation off, unless the user set
/// DOTNET_TieredCompilation, which the children then get. With it on, the runtime recompiles hot
/// methods (and the library code they call) in a background thread, at moments of its choosing, on
/// the CPU the process is pinned to, so that thread takes the CPU from a sender or receiver in the
/// middle of a transfer:
/// <list type="bullet">
/// <item>the coordinator, pinned to the sender's CPU: perf (`perf record -a -e cpu-clock` over 24
/// transfers of 300 MB through the ring, 2026-12-05 19:02 UTC) found its ".NET Tiered Compilation"
/// thread in 15% of CPU 0's samples while transfers ran, and the transfers it met ran at half
/// speed;</item>
/// <item>the children: each timed transfer's "done" reply says what its process compiled meanwhile
/// (<see cref="Children.JitActivity"/>, --verbose). In a run of every paper size (2026-12-05 21:11 UTC)
/// the children were still compiling, 1-73 methods and up to 86 ms of compile time, during timed
/// transfers from 100 MB to 4 GB, long after the warm-ups; with tiering off, 10 of 230 transfers
/// compiled anything (21:18 UTC), none more than 7 methods after the first transfer.</item>
/// </list>
/// A long-running program is past that; the benchmark measures that steady state, with every method
/// compiled once, optimized, when first called (docs/benchmarks/README.md, "One transfer").
/// </summary>
internal static class CoordinatorJit
{
    private const string Setting = "DOTNET_TieredCompilation";

    /// <summary>Set in the restarted coordinator: the children's value of <see cref="Setting"/>.</summary>
    private const string ChildrenSetting = "IVSHMEM_BENCH_CHILDREN_TIERED_COMPILATION";

    /// <summary>Runs the coordinator again without tiered compilation and returns its exit status; null
    /// when this already is that coordinator (or the setting is off anyway, for it and its children).</summary>
    public static int? RunWithoutTiering(IReadOnlyList<string> args)
    {
        string? setting = Environment.GetEnvironmentVariable(Setting);
        if (Environment.GetEnvironmentVariable(ChildrenSetting) is not null || setting == "0") return null;
        var (program, prefix) = Child.SelfCommand();
        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (string p in prefix) start.ArgumentList.Add(p);
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment[Setting] = "0";
        start.Environment[ChildrenSetting] = setting ?? "0";
        using Process coordinator = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        coordinator.WaitForExit();
        return coordinator.ExitCode;
    }

    /// <summary>The children's setting, for the report: "off" unless the user chose otherwise.</summary>
    public static string ChildrenDescription
    {
        get
        {
            string setting = Environment.GetEnvironmentVariable(ChildrenSetting) ?? Environment.GetEnvironmentVariable(Setting) ?? "0";
            return setting == "0" ? "off" : $"{Setting}={setting}";
        }
    }

    /// <summary>Gives a child the children's setting.</summary>
    public static void RestoreForChild(ProcessStartInfo start)
    {
        string? setting = Environment.GetEnvironmentVariable(ChildrenSetting);
        if (setting is null) return;
        start.Environment.Remove(ChildrenSetting);
        start.Environment[Setting] = setting;
    }
}
