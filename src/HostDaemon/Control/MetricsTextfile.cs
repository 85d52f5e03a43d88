using System.Globalization;
using System.Text;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Server;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Control;

/// <summary>
/// The daemon's Prometheus metrics as a file for node_exporter's textfile collector (the
/// <c>metrics</c> key): no listening socket and no dependency. Every interval the file is written
/// next to itself under a name the collector ignores and renamed over the old one, so a scrape reads
/// a whole file, never half of one. Written on a thread-pool timer from the last published status and
/// ring sample; the event loop never waits for the disk. Removed on a clean stop, so a stopped daemon
/// does not keep reporting its last values.
/// </summary>
internal sealed class MetricsTextfile : IAsyncDisposable
{
    private readonly MetricsOptions _options;
    private readonly Func<(ServerStatus Status, RingSnapshot Rings)> _source;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private string? _lastFailure;

    public MetricsTextfile(MetricsOptions options, Func<(ServerStatus, RingSnapshot)> source, ILogger log)
    {
        _options = options;
        _source = source;
        _log = log;
    }

    /// <summary>Writes the file once now and then every interval.</summary>
    public void Start()
    {
        _log.MetricsTextfileStarted(_options.TextfilePath, (int)_options.Interval.TotalSeconds);
        _loop = Run();
    }

    private async Task Run()
    {
        using var timer = new PeriodicTimer(_options.Interval);
        do WriteNow();
        while (await Tick(timer).ConfigureAwait(false));
    }

    private async Task<bool> Tick(PeriodicTimer timer)
    {
        try { return await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>Writes the file now; a failure is logged (once until it changes or recovers), never thrown.</summary>
    public void WriteNow()
    {
        try
        {
            (ServerStatus status, RingSnapshot rings) = _source();
            Write(_options.TextfilePath, Format(status, rings));
            if (_lastFailure is not null) _log.MetricsTextfileRecovered(_options.TextfilePath);
            _lastFailure = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (_lastFailure != e.Message) _log.MetricsTextfileFailed(_options.TextfilePath, e.Message);
            _lastFailure = e.Message;
        }
    }

    /// <summary>Replaces <paramref name="path"/> with <paramref name="text"/> atomically: a temporary
    /// file in the same directory (a dot name without .prom, which the collector skips), mode 0644 so
    /// node_exporter's user can read it, then rename(2).</summary>
    internal static void Write(string path, string text)
    {
        string directory = Path.GetDirectoryName(path) ?? "/";
        string temporary = Path.Combine(directory, "." + Path.GetFileName(path) + ".tmp");
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        try
        {
            using (var file = new FileStream(temporary, fileOptions))
                file.Write(Encoding.UTF8.GetBytes(text));
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_loop is null) return;
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        _loop = null;
        try { File.Delete(_options.TextfilePath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _log.MetricsTextfileFailed(_options.TextfilePath, e.Message); }
        _stop.Dispose();
    }

    /// <summary>
    /// The text exposition format (version 0.0.4): HELP and TYPE once per metric, then its samples.
    /// Rings are labelled by region, peer names and slots (two peers may share a name; the slots keep
    /// the series apart). An invalid ring has only <c>ivshmemd_ring_valid 0</c> and its capacity: its
    /// positions mean nothing. The last movement is a Unix time, so it stays right however old the
    /// file is when it is scraped (age: <c>time() - ivshmemd_ring_last_movement_seconds</c>); rings
    /// not seen moving since the daemon started have none.
    /// </summary>
    internal static string Format(ServerStatus status, RingSnapshot rings)
    {
        var text = new StringBuilder();
        Header(text, "ivshmemd_region_peers", "gauge", "Peers connected to the region.");
        foreach (RegionStatus region in status.Regions)
            text.Append("ivshmemd_region_peers{region=\"").Append(Escape(region.Name)).Append("\"} ").Append(Num(region.Peers.Count)).Append('\n');

        var all = status.Regions.SelectMany(r => rings.RingsOf(r.Name).Select(ring => (Region: r.Name, Ring: ring))).ToList();
        Ring(text, all, "ivshmemd_ring_valid", "gauge",
            "1 when the ring's positions in shared memory are possible, 0 when a peer wrote impossible ones (ivshmemd status says why).",
            r => Num(r.Valid ? 1 : 0));
        Ring(text, all, "ivshmemd_ring_bytes_total", "counter",
            "Bytes the consumer released from the ring (payload, 8-byte record headers, alignment and padding records).",
            r => r.Valid ? Num(r.Bytes) : null);
        Ring(text, all, "ivshmemd_ring_fill_bytes", "gauge", "Bytes published to the ring and not yet released.",
            r => r.Valid ? Num(r.Fill) : null);
        Ring(text, all, "ivshmemd_ring_capacity_bytes", "gauge", "Data bytes the ring holds.",
            r => Num(r.Capacity));
        Ring(text, all, "ivshmemd_ring_last_movement_seconds", "gauge",
            "Unix time at which the daemon last saw the ring's head or tail move (sampled every second).",
            r => r.Valid && r.LastMovement is { } at ? (at.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) : null);
        return text.ToString();
    }

    private static void Ring(StringBuilder text, List<(string Region, RingStatus Ring)> rings, string name, string type, string help, Func<RingStatus, string?> value)
    {
        Header(text, name, type, help);
        foreach ((string region, RingStatus ring) in rings)
        {
            if (value(ring) is not { } v) continue;
            text.Append(name).Append("{region=\"").Append(Escape(region))
                .Append("\",from=\"").Append(Escape(ring.From)).Append("\",to=\"").Append(Escape(ring.To))
                .Append("\",from_slot=\"").Append(Num(ring.FromSlot)).Append("\",to_slot=\"").Append(Num(ring.ToSlot))
                .Append("\"} ").Append(v).Append('\n');
        }
    }

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    /// <summary>Label values: backslash, double quote and line feed escaped, as the format requires.</summary>
    internal static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);
}
