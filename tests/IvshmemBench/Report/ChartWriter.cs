using Ivshmem.Bench.Model;
using ScottPlot;

namespace Ivshmem.Bench.Report;

/// <summary>
/// Bandwidth against transfer size, like the paper's Fig. 1: every transport of this run (bold, filled
/// markers: the median of its timed transfers) and the paper's three (thin, open markers: Table V),
/// both axes logarithmic (ScottPlot plots log10 of the values and labels the ticks with the values).
/// Solid lines only: SkiaSharp's SVG canvas draws no dashes (and complains on stderr).
/// </summary>
internal static class ChartWriter
{
    private const int Width = 1400, Height = 760;

    private static readonly Dictionary<Transport, Color> Colours = new()
    {
        [Transport.Ring] = new Color(0xD6, 0x27, 0x28),
        [Transport.RingZeroCopy] = new Color(0xFF, 0x7F, 0x0E),
        [Transport.Uds] = new Color(0x1F, 0x77, 0xB4),
        [Transport.Pipe] = new Color(0x2C, 0xA0, 0x2C),
        [Transport.Tcp] = new Color(0x94, 0x67, 0xBD),
        [Transport.Memcpy] = new Color(0x44, 0x44, 0x44),
        [Transport.CopyPipeline] = new Color(0x99, 0x99, 0x99),
    };

    /// <summary>Writes <paramref name="basePath"/>.png and .svg; returns the two paths.</summary>
    public static IReadOnlyList<string> Write(BenchResults results, string basePath)
    {
        using var plot = new Plot();
        foreach (Transport t in TransportNames.All)
        {
            var points = results.Throughput.Where(r => r.Transport == t).OrderBy(r => r.SizeBytes).ToList();
            if (points.Count == 0) continue;
            var s = plot.Add.Scatter(
                points.Select(p => Math.Log10(p.SizeBytes)).ToArray(),
                points.Select(p => Math.Log10(p.Median)).ToArray(),
                Colours[t]);
            s.LegendText = t switch
            {
                Transport.Memcpy => "memcpy, one thread (this run)",
                Transport.CopyPipeline => "copy in and out on two cores, nothing else (this run)",
                _ => $"{t.Name()} (this run)",
            };
            s.LineWidth = 2;
            s.MarkerSize = 6;
        }
        AddPaper(plot, "UDS (paper, 2013)", r => r.UdsMbps, Colours[Transport.Uds], MarkerShape.OpenCircle);
        AddPaper(plot, "shared memory (paper, 2013)", r => r.SharedMemoryMbps, new Color(0xBC, 0xBD, 0x22), MarkerShape.OpenSquare);
        AddPaper(plot, "pipes (paper, 2013)", r => r.PipesMbps, Colours[Transport.Pipe], MarkerShape.OpenTriangleUp);

        plot.Title("Bandwidth against transfer size (cf. An, Cam and Tan 2013, Fig. 1)");
        plot.XLabel("transfer size (KB = 1024 bytes)");
        plot.YLabel("bandwidth, Mbit/s");
        plot.Axes.Bottom.TickGenerator = SizeTicks();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            LabelFormatter = y => Math.Pow(10, y).ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.15);
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(0.05);
        plot.Grid.MinorLineWidth = 1;
        plot.ShowLegend(Edge.Right);

        string png = basePath + ".png", svg = basePath + ".svg";
        plot.SavePng(png, Width, Height);
        plot.SaveSvg(svg, Width, Height);
        return [png, svg];
    }

    private static void AddPaper(Plot plot, string label, Func<PaperRow, double> value, Color colour, MarkerShape marker)
    {
        var s = plot.Add.Scatter(
            PaperFigures.Rows.Select(r => Math.Log10(r.SizeBytes)).ToArray(),
            PaperFigures.Rows.Select(r => Math.Log10(value(r))).ToArray(),
            colour.WithOpacity(0.7));
        s.LegendText = label;
        s.LineWidth = 1;
        s.MarkerShape = marker;
        s.MarkerSize = 7;
    }

    /// <summary>Major ticks at round binary sizes, labelled in the paper's units.</summary>
    private static ScottPlot.TickGenerators.NumericManual SizeTicks()
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        long[] labelled = [16L << 10, 64L << 10, 256L << 10, 1L << 20, 2L << 20, 16L << 20, 100L << 20, 1L << 30, 4L << 30];
        foreach (long size in labelled) ticks.AddMajor(Math.Log10(size), Sizes.Label(size));
        foreach (long size in Sizes.TableIV.Except(labelled)) ticks.AddMinor(Math.Log10(size));
        return ticks;
    }
}
