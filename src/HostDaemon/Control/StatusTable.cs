using System.Globalization;
using System.Text;

namespace Ivshmem.Daemon.Control;

/// <summary>The human form of a <see cref="StatusReport"/>: a line about the daemon, then one table
/// row per region with its peers indented under it.</summary>
internal static class StatusTable
{
    public static string Format(StatusReport report)
    {
        var text = new StringBuilder();
        DaemonReport d = report.Daemon;
        text.AppendLine(CultureInfo.InvariantCulture, $"ivshmemd (pid {d.Pid}) serving {d.Configuration}, up since {Time(d.StartedAt)}");
        if (d.LastReload is { } r)
        {
            text.AppendLine(r.Succeeded
                ? $"last reload: {Time(r.At)}: {r.Summary}"
                : $"last reload FAILED at {Time(r.At)}; still serving the previous configuration:");
            if (!r.Succeeded)
                foreach (string error in r.Errors) text.AppendLine("  " + error);
        }
        text.AppendLine();
        if (report.Regions.Count == 0)
        {
            text.AppendLine("no regions");
            return text.ToString();
        }
        var rows = new List<string[]> { new[] { "REGION", "SIZE", "BACKING", "VECTORS", "PEERS", "STATE", "SOCKET" } };
        foreach (RegionReport region in report.Regions)
            rows.Add([region.Name, Size(region.SizeBytes), region.Backing + (region.Restored ? " (restored)" : ""), Num(region.Vectors),
                $"{region.Peers.Count}/{region.MaxPeers}", region.State, region.Socket]);
        int[] widths = Widths(rows);
        for (int i = 0; i < rows.Count; i++)
        {
            text.AppendLine(Row(rows[i], widths));
            if (i == 0) continue;
            RegionReport region = report.Regions[i - 1];
            if (region.Peers.Count == 0) continue;
            var peers = new List<string[]> { new[] { "ID", "SLOT", "NAME", "KIND", "PID", "USER", "SINCE", "" } };
            foreach (PeerReport p in region.Peers)
                peers.Add([Num(p.Id), Num(p.Slot), p.Name, p.Kind, p.Pid > 0 ? Num(p.Pid) : "-", p.User, Time(p.Since),
                    p.Orphaned ? "orphaned (restart)" : p.Restored ? "restored" : ""]);
            int[] peerWidths = Widths(peers);
            foreach (string[] peer in peers) text.AppendLine("    " + Row(peer, peerWidths));
        }
        return text.ToString();
    }

    private static int[] Widths(List<string[]> rows) =>
        Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();

    private static string Row(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();

    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset t) => t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Sizes as the configuration writes them: the largest exact unit.</summary>
    internal static string Size(long bytes)
    {
        string[] units = ["", "K", "M", "G", "T"];
        int u = 0;
        while (u < units.Length - 1 && bytes >= 1024 && bytes % 1024 == 0) { bytes /= 1024; u++; }
        return bytes.ToString(CultureInfo.InvariantCulture) + units[u];
    }
}
