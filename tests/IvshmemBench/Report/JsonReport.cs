using System.Text.Json;
using Ivshmem.Bench.Model;

namespace Ivshmem.Bench.Report;

/// <summary>
/// The run as JSON, in the shape docs/benchmarks/README.md describes: <c>machine</c>, <c>throughput</c>
/// (transport, size_bytes, repeats, mbps min/median/max), <c>latency</c> (transport, mode,
/// p50_us/p99_us/p999_us), <c>message_rate</c> (mode, million_per_s); and beside them the
/// ratios, the paper's figures, the run's settings, idle CPU, hot-loop allocations and each
/// transfer's figure (samples_mbps), so nothing needed to check a claim is left out.
/// </summary>
internal static class JsonReport
{
    public static void Write(BenchResults results, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();

        w.WriteStartObject("machine");
        MachineInfo m = results.Machine;
        w.WriteString("cpu", m.Cpu);
        w.WriteNumber("cores", m.Cores);
        w.WriteString("kernel", m.Kernel);
        w.WriteString("os", m.Os);
        w.WriteNumber("memory_gib", m.MemoryGiB);
        w.WriteBoolean("virtual_machine", m.Virtualized);
        w.WriteString("runtime", m.Runtime);
        w.WriteString("load_average_at_start", m.LoadAverage);
        w.WriteEndObject();

        w.WriteStartObject("settings");
        foreach (var (key, value) in results.Settings) w.WriteString(key, value);
        w.WriteString("started_utc", results.Started.ToString("O"));
        w.WriteNumber("elapsed_s", Math.Round(results.Elapsed.TotalSeconds, 1));
        w.WriteEndObject();

        Objects(w, "throughput", results.Throughput, (ThroughputResult r) =>
        {
            w.WriteString("transport", r.Transport.Name());
            w.WriteNumber("size_bytes", r.SizeBytes);
            w.WriteNumber("repeats", r.Mbps.Count);
            w.WriteStartObject("mbps");
            w.WriteNumber("min", Round(r.Min));
            w.WriteNumber("median", Round(r.Median));
            w.WriteNumber("max", Round(r.Max));
            w.WriteEndObject();
            w.WriteStartArray("samples_mbps");
            foreach (double x in r.Mbps) w.WriteNumberValue(Round(x));
            w.WriteEndArray();
        });

        Objects(w, "latency", results.Latency, (LatencyResult l) =>
        {
            w.WriteString("transport", l.Transport);
            w.WriteString("mode", l.Mode);
            w.WriteNumber("p50_us", l.P50Us);
            w.WriteNumber("p99_us", l.P99Us);
            w.WriteNumber("p999_us", l.P999Us);
            w.WriteNumber("mean_us", l.MeanUs);
            w.WriteNumber("samples", l.Samples);
            if (l.Cpu is not { } cpu) return;
            w.WriteStartObject("cpu_per_round_trip");
            Side(w, "ping", cpu.Ping);
            Side(w, "pong", cpu.Pong);
            w.WriteEndObject();
        });

        Objects(w, "message_rate", results.Rates, (RateResult r) =>
        {
            w.WriteString("mode", r.Mode);
            w.WriteNumber("million_per_s", Math.Round(r.Median, 3));
            w.WriteNumber("batch", r.Batch);
            w.WriteNumber("messages", r.Messages);
            w.WriteStartArray("runs_million_per_s");
            foreach (double x in r.MillionPerSecond) w.WriteNumberValue(Math.Round(x, 3));
            w.WriteEndArray();
        });

        w.WriteStartObject("ratios");
        Objects(w, "throughput", Ratios.Throughput(results), (SizeRatios r) =>
        {
            w.WriteNumber("size_bytes", r.SizeBytes);
            if (r.BestKernel is null) w.WriteNull("best_kernel_transport"); else w.WriteString("best_kernel_transport", r.BestKernel);
            Ratio(w, "ring_over_best_kernel", r.RingOverBestKernel);
            Ratio(w, "ring_zero_copy_over_best_kernel", r.ZeroCopyOverBestKernel);
            Ratio(w, "ring_over_memcpy", r.RingOverMemcpy);
            Ratio(w, "ring_zero_copy_over_memcpy", r.ZeroCopyOverMemcpy);
            Ratio(w, "copy_pipeline_over_memcpy", r.PipelineOverMemcpy);
            Ratio(w, "ring_over_copy_pipeline", r.RingOverPipeline);
        });
        Ratio(w, "latency_spin_then_block_over_busy_poll_p50", Ratios.SpinThenBlockOverBusyPoll(results));
        w.WriteEndObject();

        Objects(w, "targets", Targets.Evaluate(results), (TargetCheck c) =>
        {
            w.WriteString("target", c.Target);
            if (c.Met is bool met) w.WriteBoolean("met", met); else w.WriteNull("met");
            w.WriteString("measured", c.Measured);
        });

        Objects(w, "idle_cpu", results.IdleCpu, (IdleCpuResult i) =>
        {
            w.WriteString("transport", "ring");
            w.WriteString("mode", i.Mode);
            w.WriteNumber("seconds", i.Seconds);
            w.WriteNumber("cpu_percent", Math.Round(i.CpuPercent, 3));
        });

        Objects(w, "allocations", results.Allocations, (AllocationResult a) =>
        {
            w.WriteString("loop", a.Loop);
            w.WriteNumber("bytes", a.Bytes);
            w.WriteNumber("operations", a.Operations);
        });

        Objects(w, "paper", PaperFigures.Rows, (PaperRow p) =>
        {
            w.WriteNumber("size_bytes", p.SizeBytes);
            w.WriteNumber("uds_mbps", p.UdsMbps);
            w.WriteNumber("shared_memory_mbps", p.SharedMemoryMbps);
            w.WriteNumber("pipes_mbps", p.PipesMbps);
        });

        w.WriteEndObject();
    }

    /// <summary>An array named <paramref name="name"/> with one object per item, whose fields <paramref name="fields"/> writes.</summary>
    private static void Objects<T>(Utf8JsonWriter w, string name, IEnumerable<T> items, Action<T> fields)
    {
        w.WriteStartArray(name);
        foreach (T item in items)
        {
            w.WriteStartObject();
            fields(item);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Ratio(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v) w.WriteNumber(name, Math.Round(v, 3));
        else w.WriteNull(name);
    }

    private static double Round(double mbps) => Math.Round(mbps, 1);

    private static void Side(Utf8JsonWriter w, string name, SideUsage s)
    {
        w.WriteStartObject(name);
        w.WriteNumber("cpu_us", Math.Round(s.CpuUs, 3));
        w.WriteNumber("user_us", Math.Round(s.UserUs, 3));
        w.WriteNumber("system_us", Math.Round(s.SystemUs, 3));
        w.WriteNumber("sleeps", Math.Round(s.Sleeps, 3));
        w.WriteEndObject();
    }
}
