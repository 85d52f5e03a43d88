using System.Globalization;
using System.Reflection;

namespace Ivshmem.Bench.Model;

/// <summary>One row of the paper's Table V: Mbit/s of each of its transports at one size.</summary>
internal sealed record PaperRow(long SizeBytes, double UdsMbps, double SharedMemoryMbps, double PipesMbps);

/// <summary>
/// Table V of An, Cam and Tan (2013), "Performance Improvement of Information Exchange between the
/// Virtual Machines on the Same Physical Host" (Pentium Dual Core E2200, 2 GB RAM, Ubuntu 12.04, C),
/// embedded from Model/paper-table-v.csv beside this file. The CSV lists sizes in MB
/// as 0.016 .. 4000; row i is Table IV's size i.
/// </summary>
internal static class PaperFigures
{
    public static readonly IReadOnlyList<PaperRow> Rows = Load();

    public static PaperRow? At(long sizeBytes) => Rows.FirstOrDefault(r => r.SizeBytes == sizeBytes);

    private static List<PaperRow> Load()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("paper-table-v.csv")
            ?? throw new InvalidOperationException("the embedded paper-table-v.csv is missing from the build");
        using var reader = new StreamReader(stream);
        var rows = new List<PaperRow>();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (line.StartsWith('#') || line.StartsWith("size", StringComparison.Ordinal) || line.Trim().Length == 0) continue;
            string[] f = line.Split(',');
            double Parse(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
            rows.Add(new PaperRow(Sizes.TableIV[rows.Count], Parse(1), Parse(2), Parse(3)));
        }
        if (rows.Count != Sizes.TableIV.Count)
            throw new InvalidOperationException($"paper-table-v.csv has {rows.Count} rows; Table IV has {Sizes.TableIV.Count} sizes");
        return rows;
    }
}
