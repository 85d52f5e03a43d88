using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Ivshmem.Peer;
using Ivshmem.Peer.Host;
using Ivshmem.Peer.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Measure;

/// <summary>
/// The machine a measurement ran on, under the host benchmark's names (cpu, cores, kernel,
/// virtual_machine, runtime), and how this agent reached the region (access, mapping: null over TCP).
/// A small copy of what tests/IvshmemBench collects, which src/ cannot reference.
/// </summary>
internal sealed record AgentMachine(string Cpu, int Cores, string Kernel, bool Virtualized, string Runtime, string? Access, string? Mapping)
{
    public static AgentMachine Collect(IvshmemEndpoint? endpoint)
    {
        string cpuinfo = Read("/proc/cpuinfo");
        (string? access, string? mapping) = endpoint switch
        {
            GuestDevice d => (d.Access == GuestAccess.Vfio ? "vfio" : "sysfs", d.Mapping.Describe()),
            HostPeer => ("host-peer", (string?)null),
            _ => ((string?)null, (string?)null),
        };
        return new AgentMachine(
            CpuInfoField(cpuinfo, "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
            Environment.ProcessorCount,
            Read("/proc/sys/kernel/osrelease").Trim(),
            // The kernel sets the "hypervisor" flag when CPUID says it runs under one.
            (CpuInfoField(cpuinfo, "flags") ?? "").Split(' ').Contains("hypervisor"),
            RuntimeInformation.FrameworkDescription,
            access,
            mapping);
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    private static string? CpuInfoField(string cpuinfo, string name) =>
        cpuinfo.Split('\n').Select(line => line.Split(':', 2)).FirstOrDefault(kv => kv.Length == 2 && kv[0].Trim() == name)?[1].Trim();
}

/// <summary>
/// ping and bench results as JSON in the host benchmark's shape (tests/IvshmemBench, <c>scripts/bench
/// --json</c>): <c>machine</c>, <c>throughput</c> (transport, size_bytes, repeats, mbps min/median/max
/// in 10^6 bit/s), <c>latency</c> (transport, mode, p50_us/p99_us/p999_us), <c>message_rate</c>
/// (empty here). The agent adds a direction and chunk_bytes to each throughput entry and a
/// <c>settings</c> object that says what ran against whom. Mode names are the benchmark's: the ring's
/// wait modes "block", "spin-then-block", "busy-poll", and "blocking" for TCP.
/// </summary>
internal static class MeasureJson
{
    public static string ModeName(string transport, WaitMode mode) => transport == "tcp" ? "blocking" : mode switch
    {
        WaitMode.Block => "block",
        WaitMode.BusyPoll => "busy-poll",
        _ => "spin-then-block",
    };

    public static string Bench(AgentMachine machine, BenchResult result, string transport, string mode, string peer) =>
        Document(machine, "bench", peer, result.Wakeups, w =>
        {
            w.WriteStartArray("throughput");
            Throughput(w, result, transport, mode, "to-peer", result.Uploads);
            Throughput(w, result, transport, mode, "from-peer", result.Downloads);
            w.WriteEndArray();
            w.WriteStartArray("latency");
            w.WriteEndArray();
        });

    public static string Ping(AgentMachine machine, PingResult result, string transport, string mode, string peer) =>
        Document(machine, "ping", peer, result.Wakeups, w =>
        {
            w.WriteStartArray("throughput");
            w.WriteEndArray();
            w.WriteStartArray("latency");
            w.WriteStartObject();
            w.WriteString("transport", transport);
            w.WriteString("mode", mode);
            w.WriteNumber("p50_us", Math.Round(result.Percentile(50), 3));
            w.WriteNumber("p99_us", Math.Round(result.Percentile(99), 3));
            w.WriteNumber("p999_us", Math.Round(result.Percentile(99.9), 3));
            w.WriteNumber("mean_us", Math.Round(result.RoundTripsUs.Average(), 3));
            w.WriteNumber("samples", result.RoundTripsUs.Count);
            w.WriteNumber("size_bytes", result.PayloadBytes);
            w.WriteEndObject();
            w.WriteEndArray();
        });

    private static string Document(AgentMachine m, string command, string peer, long wakeups, Action<Utf8JsonWriter> results)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("machine");
            w.WriteString("cpu", m.Cpu);
            w.WriteNumber("cores", m.Cores);
            w.WriteString("kernel", m.Kernel);
            w.WriteBoolean("virtual_machine", m.Virtualized);
            w.WriteString("runtime", m.Runtime);
            w.WriteString("access", m.Access);
            w.WriteString("mapping", m.Mapping);
            w.WriteEndObject();

            w.WriteStartObject("settings");
            w.WriteString("command", "ivshmem-agent " + command);
            w.WriteString("peer", peer);
            w.WriteString("finished_utc", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            if (wakeups >= 0) w.WriteNumber("doorbell_interrupts", wakeups);
            w.WriteEndObject();

            results(w);
            w.WriteStartArray("message_rate");
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>One direction: each round's rate in Mbit/s (10^6 bit/s, as the host benchmark); the
    /// median is the text output's median round.</summary>
    private static void Throughput(Utf8JsonWriter w, BenchResult result, string transport, string mode, string direction, IReadOnlyList<TimeSpan> rounds)
    {
        double Mbps(TimeSpan t) => result.Bytes * 8 / t.TotalSeconds / 1e6;
        w.WriteStartObject();
        w.WriteString("transport", transport);
        w.WriteString("direction", direction);
        w.WriteString("mode", mode);
        w.WriteNumber("size_bytes", result.Bytes);
        w.WriteNumber("chunk_bytes", result.Chunk);
        w.WriteNumber("repeats", rounds.Count);
        w.WriteStartObject("mbps");
        w.WriteNumber("min", Math.Round(Mbps(rounds.Max()), 1));
        w.WriteNumber("median", Math.Round(Mbps(BenchResult.Median(rounds)), 1));
        w.WriteNumber("max", Math.Round(Mbps(rounds.Min()), 1));
        w.WriteEndObject();
        w.WriteStartArray("samples_mbps");
        foreach (TimeSpan t in rounds) w.WriteNumberValue(Math.Round(Mbps(t), 1));
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
