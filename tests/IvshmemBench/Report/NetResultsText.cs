using System.Globalization;
using System.Text;

namespace Ivshmem.Bench.Report;

/// <summary>scripts/net-bench's results as a Markdown table (table.md): one section per experiment,
/// throughput and round trips side by side.</summary>
internal static class NetResultsText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The parameters of an entry as "name value, ...", quotes and braces dropped.</summary>
    public static string Params(string json) =>
        string.Join(", ", NetThroughput.ParamsOf(json).Select(p => $"{p.Key.Replace('_', ' ')} {p.Value}"));

    public static string Table(NetResults results)
    {
        var s = new StringBuilder();
        s.AppendLine("# scripts/net-bench results").AppendLine();
        s.AppendLine("Throughput: iperf3's receiver, Mbit/s (10^6 bit/s), median (min-max) over the rounds. Round");
        s.AppendLine("trips: busybox ping, every ping of every round, microseconds. Machine and settings: results.json.").AppendLine();
        foreach (string experiment in results.Throughput.Select(t => t.Experiment).Concat(results.Latency.Select(l => l.Experiment)).Distinct())
        {
            s.AppendLine($"## {experiment}").AppendLine();
            s.AppendLine("| transport | protocol | parameters | Mbit/s median (min-max) | rounds |");
            s.AppendLine("|---|---|---|---|---|");
            foreach (NetThroughput t in results.Throughput.Where(t => t.Experiment == experiment))
                s.AppendLine(Invariant, $"| {t.Transport} | {t.Protocol} | {Params(t.Params)} | {t.Median:0.0} ({t.Min:0.0}-{t.Max:0.0}) | {t.Repeats} |");
            s.AppendLine();
            var pings = results.Latency.Where(l => l.Experiment == experiment).ToList();
            if (pings.Count == 0) continue;
            s.AppendLine("| round trip | parameters | p50 us | p99 us | mean us | pings |");
            s.AppendLine("|---|---|---|---|---|---|");
            foreach (NetLatency l in pings)
                s.AppendLine(Invariant, $"| {l.Transport} | {Params(l.Params)} | {l.P50:0} | {l.P99:0} | {l.Mean:0} | {l.Samples} |");
            s.AppendLine();
        }
        return s.ToString();
    }
}
