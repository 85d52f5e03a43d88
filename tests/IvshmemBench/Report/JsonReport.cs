using System.Text.Json;
using Ivshmem.Bench.Model;

namespace Ivshmem.Bench.Report;

/// <summary>
/// The run as JSON, in the shape issue 5 asks for: <c>machine</c>, <c>throughput</c>
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

        w.WriteStartArray("throughput");
        foreach (ThroughputResult r in results.Throughput)
        {
            w.WriteStartObject();
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
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("latency");
        foreach (LatencyResult l in results.Latency)
        {
            w.WriteStartObject();
            w.WriteString("transport", l.Transport);
            w.WriteString("mode", l.Mode);
            w.WriteNumber("p50_us", l.P50Us);
            w.WriteNumber("p99_us", l.P99Us);
            w.WriteNumber("p999_us", l.P999Us);
            w.WriteNumber("mean_us", l.MeanUs);
            w.WriteNumber("samples", l.Samples);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("message_rate");
        foreach (RateResult r in results.Rates)
        {
            w.WriteStartObject();
            w.WriteString("mode", r.Mode);
            w.WriteNumber("million_per_s", Math.Round(r.Median, 3));
            w.WriteNumber("batch", r.Batch);
            w.WriteNumber("messages", r.Messages);
            w.WriteStartArray("runs_million_per_s");
            foreach (double x in r.MillionPerSecond) w.WriteNumberValue(Math.Round(x, 3));
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartObject("ratios");
        w.WriteStartArray("throughput");
        foreach (SizeRatios r in Ratios.Throughput(results))
        {
            w.WriteStartObject();
            w.WriteNumber("size_bytes", r.SizeBytes);
            if (r.BestKernel is null) w.WriteNull("best_kernel_transport"); else w.WriteString("best_kernel_transport", r.BestKernel);
            Ratio(w, "ring_over_best_kernel", r.RingOverBestKernel);
            Ratio(w, "ring_zero_copy_over_best_kernel", r.ZeroCopyOverBestKernel);
            Ratio(w, "ring_over_memcpy", r.RingOverMemcpy);
            Ratio(w, "ring_zero_copy_over_memcpy", r.ZeroCopyOverMemcpy);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        Ratio(w, "latency_spin_then_block_over_busy_poll_p50", Ratios.SpinThenBlockOverBusyPoll(results));
        w.WriteEndObject();

        w.WriteStartArray("targets");
        foreach (TargetCheck c in Targets.Evaluate(results))
        {
            w.WriteStartObject();
            w.WriteString("target", c.Target);
            if (c.Met is bool met) w.WriteBoolean("met", met); else w.WriteNull("met");
            w.WriteString("measured", c.Measured);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("idle_cpu");
        foreach (IdleCpuResult i in results.IdleCpu)
        {
            w.WriteStartObject();
            w.WriteString("transport", "ring");
            w.WriteString("mode", i.Mode);
            w.WriteNumber("seconds", i.Seconds);
            w.WriteNumber("cpu_percent", Math.Round(i.CpuPercent, 3));
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("allocations");
        foreach (AllocationResult a in results.Allocations)
        {
            w.WriteStartObject();
            w.WriteString("loop", a.Loop);
            w.WriteNumber("bytes", a.Bytes);
            w.WriteNumber("operations", a.Operations);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("paper");
        foreach (PaperRow p in PaperFigures.Rows)
        {
            w.WriteStartObject();
            w.WriteNumber("size_bytes", p.SizeBytes);
            w.WriteNumber("uds_mbps", p.UdsMbps);
            w.WriteNumber("shared_memory_mbps", p.SharedMemoryMbps);
            w.WriteNumber("pipes_mbps", p.PipesMbps);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteEndObject();
    }

    private static void Ratio(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v) w.WriteNumber(name, Math.Round(v, 3));
        else w.WriteNull(name);
    }

    private static double Round(double mbps) => Math.Round(mbps, 1);
}
