using System.Globalization;
using ScottPlot;

namespace Ivshmem.Bench.Report;

/// <summary>
/// The charts and table of scripts/net-bench (docs/net-bench.md), drawn from its results.json with
/// ScottPlot like the host benchmark's chart: <c>ivshmem-bench --net-charts RESULTS.json --out DIR</c>
/// writes net-throughput, net-mixed and net-limits (.png and .svg) and table.md. Bars are medians; the
/// thin vertical line through each bar spans min to max over the rounds.
/// </summary>
internal static class NetCharts
{
    private const int Width = 1400, Height = 760;
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        if (args.Length != 3 || args[1] != "--out")
        {
            Console.Error.WriteLine("usage: ivshmem-bench --net-charts RESULTS.json --out DIR");
            return 2;
        }
        NetResults results = NetResults.Read(args[0]);
        string dir = args[2];
        Directory.CreateDirectory(dir);
        Bars(results.Throughput.Where(t => t.Experiment is "co-resident" or "remote").ToList(),
            t => $"{(t.Experiment == "remote" ? "to vm-c (other host)" : "to vm-b (same host)")}\n{t.Protocol.ToUpperInvariant()}\n{t.Transport}",
            "iperf3 between guests: the ring ('net') against virtio-net, and the remote path with 'net' running or stopped",
            Path.Combine(dir, "net-throughput"));
        Mixed(results.Throughput.Where(t => t.Experiment == "mixed").ToList(), Path.Combine(dir, "net-mixed"));
        Bars(results.Throughput.Where(t => t.Experiment.StartsWith("limits: ", StringComparison.Ordinal)).ToList(),
            LimitLabel,
            "What limits the ring path (iperf3 TCP vm-a -> vm-b, 'net' running)",
            Path.Combine(dir, "net-limits"));
        File.WriteAllText(Path.Combine(dir, "table.md"), NetResultsText.Table(results));
        Console.Error.WriteLine($"wrote net-throughput, net-mixed, net-limits (.png, .svg) and table.md to {Path.GetFullPath(dir)}");
        return 0;
    }

    /// <summary>"offload\non\nMTU 1500": what was varied, then its value a part per line (the bars
    /// are narrow).</summary>
    private static string LimitLabel(NetThroughput t)
    {
        string varied = t.Experiment["limits: ".Length..];
        string value = t.Param(varied) ?? "";
        return $"{varied.Replace("parallel_connections", "connections", StringComparison.Ordinal).Replace('_', ' ')}\n{value.Replace(", ", "\n", StringComparison.Ordinal)}";
    }

    private static Color ColourOf(string transport) => transport switch
    {
        "ring" => new Color(0xD6, 0x27, 0x28),
        "virtio-net" => new Color(0x1F, 0x77, 0xB4),
        "virtio-net, net-running" => new Color(0x94, 0x67, 0xBD),
        _ => new Color(0x7F, 0x7F, 0x7F),
    };

    /// <summary>One bar per entry (median), min-max as a line, labelled below.</summary>
    private static void Bars(IReadOnlyList<NetThroughput> entries, Func<NetThroughput, string> label, string title, string basePath)
    {
        using var plot = new Plot();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < entries.Count; i++)
        {
            NetThroughput t = entries[i];
            plot.Add.Bar(new Bar { Position = i, Value = t.Median, FillColor = ColourOf(t.Transport), Size = 0.7 });
            var range = plot.Add.Line(i, t.Min, i, t.Max);
            range.Color = Colors.Black;
            range.LineWidth = 2;
            ticks.AddMajor(i, label(t));
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel("Mbit/s (median of the rounds; line: min to max)");
        Save(plot, basePath);
    }

    /// <summary>Aggregate, local and remote throughput against the share of local connections.</summary>
    private static void Mixed(IReadOnlyList<NetThroughput> entries, string basePath)
    {
        using var plot = new Plot();
        var points = entries.OrderBy(t => double.Parse(t.Param("local_percent") ?? "0", Invariant)).ToList();
        double[] x = [.. points.Select(t => double.Parse(t.Param("local_percent") ?? "0", Invariant))];
        var all = plot.Add.Scatter(x, [.. points.Select(t => t.Median)], new Color(0x44, 0x44, 0x44));
        all.LegendText = "aggregate (4 TCP connections)";
        all.LineWidth = 2;
        all.MarkerSize = 7;
        plot.Title("Mixed load from vm-a: share of the 4 connections that go to the co-resident vm-b (the rest to vm-c)");
        plot.XLabel("connections to the co-resident guest, %");
        plot.YLabel("Mbit/s");
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Edge.Right);
        Save(plot, basePath);
    }

    private static void Save(Plot plot, string basePath)
    {
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.15);
        plot.SavePng(basePath + ".png", Width, Height);
        plot.SaveSvg(basePath + ".svg", Width, Height);
    }
}
