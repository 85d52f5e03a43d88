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
            if (region.Peers.Count > 0)
            {
                var peers = new List<string[]> { new[] { "ID", "SLOT", "NAME", "KIND", "PID", "USER", "SINCE", "" } };
                foreach (PeerReport p in region.Peers)
                    peers.Add([Num(p.Id), Num(p.Slot), p.Name, p.Kind, p.Pid > 0 ? Num(p.Pid) : "-", p.User, Time(p.Since),
                        p.Orphaned ? "orphaned (restart)" : p.Restored ? "restored" : ""]);
                int[] peerWidths = Widths(peers);
                foreach (string[] peer in peers) text.AppendLine("    " + Row(peer, peerWidths));
            }
            AppendRings(text, region);
        }
        AppendUnplugged(text, report);
        return text.ToString();
    }

    /// <summary>The QEMU processes that lost a device (docs/migration.md, "Re-attaching into the same
    /// QEMU process"), after the regions: only when there are some.</summary>
    private static void AppendUnplugged(StringBuilder text, StatusReport report)
    {
        if (report.UnpluggedQemu is not { Count: > 0 } unplugged) return;
        text.AppendLine();
        text.AppendLine("QEMU processes that lost a device (no attach until the VM restarts or migrates):");
        var rows = new List<string[]> { new[] { "VM", "PID", "REGION", "PEER", "SINCE" } };
        foreach (UnpluggedQemuReport u in unplugged)
            rows.Add([u.Vm, Num(u.Pid), u.Region, Num(u.PeerId), Time(u.At)]);
        int[] widths = Widths(rows);
        foreach (string[] row in rows) text.AppendLine("    " + Row(row, widths));
    }

    /// <summary>One row per direction between slots in use, under the peers: what went through the
    /// ring (ring bytes: payload, record headers and padding), its rate over the last second, how full
    /// it is, and how long since it last moved. A ring with impossible positions says why instead.</summary>
    private static void AppendRings(StringBuilder text, RegionReport region)
    {
        if (region.Rings is not { Count: > 0 } rings) return;
        var rows = new List<string[]> { new[] { "RING", "SLOTS", "BYTES", "RATE", "FILL", "IDLE" } };
        foreach (RingReport r in rings)
        {
            string ring = $"{r.From} -> {r.To}";
            string slots = $"{r.FromSlot}->{r.ToSlot}";
            if (!r.Valid)
            {
                // The reason spans the numeric columns (it does not count for their widths).
                rows.Add([ring, slots, r.Problem ?? "invalid"]);
                continue;
            }
            string rate = r.BytesPerSecond is { } bps ? Bytes((long)Math.Round(bps)) + "/s" : "-";
            string fill = $"{Bytes(r.FillBytes)}/{Bytes(r.CapacityBytes)} ({Percent(r.FillBytes, r.CapacityBytes)})";
            string idle = r.LastMovement is null ? (r.Bytes == 0 ? "never" : $">{Duration(r.IdleSeconds)}") : Duration(r.IdleSeconds);
            rows.Add([ring, slots, Bytes(r.Bytes), rate, fill, idle]);
        }
        int[] widths = Enumerable.Range(0, rows[0].Length)
            .Select(c => rows.Max(r => r.Length == rows[0].Length || c < r.Length - 1 ? r[c].Length : 0)).ToArray();
        foreach (string[] row in rows) text.AppendLine("    " + Row(row, widths));
    }

    /// <summary>Bytes in binary units with three significant digits: "0 B", "512 B", "1.50 KiB", "1.00 GiB".</summary>
    internal static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if (bytes < 1024) return Num(bytes) + " B";
        double value = bytes;
        int u = 0;
        while (value >= 1024 && u < units.Length - 1) { value /= 1024; u++; }
        string digits = value >= 100 ? value.ToString("0", CultureInfo.InvariantCulture)
            : value >= 10 ? value.ToString("0.0", CultureInfo.InvariantCulture)
            : value.ToString("0.00", CultureInfo.InvariantCulture);
        return digits + " " + units[u];
    }

    private static string Percent(long part, long whole) =>
        whole <= 0 ? "-" : (100.0 * part / whole).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>"0s", "42s", "3m05s", "2h07m", "3d04h".</summary>
    internal static string Duration(double seconds)
    {
        long s = (long)Math.Floor(Math.Max(0, seconds));
        if (s < 60) return $"{s}s";
        if (s < 3600) return $"{s / 60}m{s % 60:00}s";
        if (s < 86400) return $"{s / 3600}h{s / 60 % 60:00}m";
        return $"{s / 86400}d{s / 3600 % 24:00}h";
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
