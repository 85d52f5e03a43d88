using System.Text.Json;
using ScottPlot;

namespace Ivshmem.Bench.Report;

/// <summary>One second of a run that crosses a switch of path: what iperf3 counted, and, where the
/// script sampled the guest's counters, how much of it went through the ring and the network.</summary>
internal sealed record TimelineSecond(double T, double Mbps, double? RingMbps, double? NetworkMbps);

/// <summary>A moment worth marking on the chart: "detach", "migration completed", "attach".</summary>
internal sealed record TimelineEvent(double T, string Label);

/// <summary>
/// The throughput-per-second chart of a run across a hot-unplug, a live migration and a re-attach
/// (scripts/migrate-e2e, docs/migration.md): <c>ivshmem-bench --timeline-chart TIMELINE.json --out BASE</c>
/// writes BASE.png and BASE.svg. TIMELINE.json holds a title, one entry per second
/// (<c>{"t": seconds since the start, "mbps": iperf3's figure, "ring_mbps"/"network_mbps": optional,
/// from the guest's TUN and NIC counters}</c>) and the events (<c>{"t", "label"}</c>), drawn as
/// vertical lines so the dip and the switch are seen where they happened.
/// </summary>
internal static class TimelineChart
{
    private const int Width = 1400, Height = 700;

    public static int Run(string[] args)
    {
        if (args.Length != 3 || args[1] != "--out")
        {
            Console.Error.WriteLine("usage: ivshmem-bench --timeline-chart TIMELINE.json --out BASE (writes BASE.png and BASE.svg)");
            return 2;
        }
        string title;
        List<TimelineSecond> seconds;
        List<TimelineEvent> events;
        try
        {
            (title, seconds, events) = Read(args[0]);
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidDataException or KeyNotFoundException or InvalidOperationException)
        {
            Console.Error.WriteLine($"ivshmem-bench --timeline-chart: {e.Message}");
            return 1;
        }
        string basePath = args[2];
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(basePath))!);
        Draw(title, seconds, events, basePath);
        Console.Error.WriteLine($"wrote {basePath}.png and {basePath}.svg ({seconds.Count} seconds, {events.Count} events)");
        return 0;
    }

    internal static (string Title, List<TimelineSecond> Seconds, List<TimelineEvent> Events) Read(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement root = doc.RootElement;
        string title = root.TryGetProperty("title", out JsonElement t) ? t.GetString() ?? "" : "";
        var seconds = root.GetProperty("seconds").EnumerateArray().Select(s => new TimelineSecond(
            s.GetProperty("t").GetDouble(), s.GetProperty("mbps").GetDouble(),
            Optional(s, "ring_mbps"), Optional(s, "network_mbps"))).OrderBy(s => s.T).ToList();
        var events = root.TryGetProperty("events", out JsonElement e)
            ? e.EnumerateArray().Select(x => new TimelineEvent(x.GetProperty("t").GetDouble(), x.GetProperty("label").GetString() ?? "")).OrderBy(x => x.T).ToList()
            : [];
        if (seconds.Count == 0) throw new InvalidDataException($"{path}: 'seconds' is empty: nothing to draw");
        return (title, seconds, events);
    }

    private static double? Optional(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static void Draw(string title, List<TimelineSecond> seconds, List<TimelineEvent> events, string basePath)
    {
        using var plot = new Plot();
        double[] x = [.. seconds.Select(s => s.T)];
        Series(plot, x, [.. seconds.Select(s => s.Mbps)], "iperf3 (what the application got)", new Color(0x22, 0x22, 0x22), 2.5f);
        if (seconds.Any(s => s.RingMbps is not null))
            Series(plot, x, [.. seconds.Select(s => s.RingMbps ?? 0)], "through the ring (TUN counters)", new Color(0xD6, 0x27, 0x28), 1.5f);
        if (seconds.Any(s => s.NetworkMbps is not null))
            Series(plot, x, [.. seconds.Select(s => s.NetworkMbps ?? 0)], "through the network (virtio-net counters)", new Color(0x1F, 0x77, 0xB4), 1.5f);
        double top = seconds.Max(s => Math.Max(s.Mbps, Math.Max(s.RingMbps ?? 0, s.NetworkMbps ?? 0)));
        events = Merged(events);
        for (int i = 0; i < events.Count; i++)
        {
            var line = plot.Add.VerticalLine(events[i].T);
            line.Color = Colors.Gray;
            line.LinePattern = LinePattern.Dashed;
            line.LineWidth = 1;
            // Written along the line, from the top down: events a second apart would overlap side by side.
            var text = plot.Add.Text(events[i].Label, events[i].T, top * 1.3);
            text.LabelFontSize = 12;
            text.LabelRotation = -90;
            text.LabelAlignment = Alignment.UpperRight;
        }
        plot.Title(title);
        plot.XLabel("seconds since the run started");
        plot.YLabel("Mbit/s (per second)");
        plot.Axes.SetLimitsY(0, top * 1.3);
        plot.ShowLegend(Edge.Bottom);
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.15);
        plot.SavePng(basePath + ".png", Width, Height);
        plot.SaveSvg(basePath + ".svg", Width, Height);
    }

    /// <summary>Events closer than half a second are one line with both labels: their text would
    /// print on top of each other.</summary>
    private static List<TimelineEvent> Merged(List<TimelineEvent> events)
    {
        var merged = new List<TimelineEvent>();
        foreach (TimelineEvent e in events)
        {
            if (merged.Count > 0 && e.T - merged[^1].T < 0.5)
                merged[^1] = merged[^1] with { Label = merged[^1].Label + "; " + e.Label };
            else
                merged.Add(e);
        }
        return merged;
    }

    private static void Series(Plot plot, double[] x, double[] y, string legend, Color colour, float width)
    {
        var s = plot.Add.Scatter(x, y, colour);
        s.LegendText = legend;
        s.LineWidth = width;
        s.MarkerSize = 3;
    }
}
