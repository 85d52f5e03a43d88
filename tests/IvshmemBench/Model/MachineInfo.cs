using System.Runtime.InteropServices;

namespace Ivshmem.Bench.Model;

/// <summary>The machine a run measured: enough to tell two runs' machines apart.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Kernel, string Os, double MemoryGiB, bool Virtualized, string Runtime, string LoadAverage)
{
    public static MachineInfo Collect()
    {
        string cpuinfo = Read("/proc/cpuinfo");
        string cpu = Field(cpuinfo, "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        bool virtualized = (Field(cpuinfo, "flags") ?? "").Split(' ').Contains("hypervisor");
        string kernel = Read("/proc/sys/kernel/osrelease").Trim();
        string os = Read("/etc/os-release").Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"') ?? "Linux";
        string? memKb = Field(Read("/proc/meminfo"), "MemTotal")?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        double memory = memKb is null ? 0 : Math.Round(long.Parse(memKb, System.Globalization.CultureInfo.InvariantCulture) / 1024.0 / 1024.0, 1);
        string load = string.Join(' ', Read("/proc/loadavg").Split(' ').Take(3));
        return new MachineInfo(cpu, Environment.ProcessorCount, kernel, os, memory, virtualized, RuntimeInformation.FrameworkDescription, load);
    }

    public string Describe() =>
        $"{Cpu}, {Cores} cores{(Virtualized ? " (virtual machine)" : "")}, {MemoryGiB:0.#} GiB, Linux {Kernel} ({Os}), {Runtime}; load average at start {LoadAverage}";

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    private static string? Field(string text, string name)
    {
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line[..colon].Trim() == name) return line[(colon + 1)..].Trim();
        }
        return null;
    }
}
