using System.Diagnostics;
using Ivshmem.Peer;

namespace Ivshmem.Agent.Transfer;

/// <summary>
/// One progress line on a terminal ("  12.0 MiB / 64.0 MiB  18%  41.2 MB/s  ETA 0:01"), redrawn at
/// most four times a second; nothing at all when standard error is not a terminal, so scripts and logs
/// get only the final summary.
/// </summary>
internal sealed class Progress
{
    private static readonly long RedrawTicks = Stopwatch.Frequency / 4;
    private readonly TextWriter? _output;
    private readonly long _start = Stopwatch.GetTimestamp();
    private long? _total;
    private long _nextDraw;
    private int _lastLength;

    public Progress(TextWriter? output, long? total)
    {
        _output = output;
        _total = total is >= 0 ? total : null;
        _nextDraw = _start + RedrawTicks;
    }

    /// <summary>A progress line on standard error if it is a terminal and not <paramref name="quiet"/>.</summary>
    public static Progress ForStandardError(bool quiet, long? total) =>
        new(!quiet && !Console.IsErrorRedirected ? Console.Error : null, total);

    public void SetTotal(long? total) => _total = total is >= 0 ? total : null;

    public void Update(long done)
    {
        if (_output is null) return;
        long now = Stopwatch.GetTimestamp();
        if (now < _nextDraw) return;
        _nextDraw = now + RedrawTicks;
        Draw(done, now);
    }

    /// <summary>Clears the line, so the summary that follows starts clean.</summary>
    public void Finish()
    {
        if (_output is null || _lastLength == 0) return;
        _output.Write("\r" + new string(' ', _lastLength) + "\r");
        _output.Flush();
        _lastLength = 0;
    }

    private void Draw(long done, long now)
    {
        double seconds = (now - _start) / (double)Stopwatch.Frequency;
        double rate = seconds > 0 ? done / seconds : 0;
        string line = _total is long total && total > 0
            ? $"  {Units.Bytes(done)} / {Units.Bytes(total)}  {100.0 * done / total,3:0}%  {Units.Rate(rate)}  ETA {Eta(total - done, rate)}"
            : $"  {Units.Bytes(done)}  {Units.Rate(rate)}";
        string padded = line.Length < _lastLength ? line.PadRight(_lastLength) : line;
        _output!.Write("\r" + padded);
        _output.Flush();
        _lastLength = line.Length;
    }

    private static string Eta(long left, double rate)
    {
        if (rate <= 0) return "?";
        var t = TimeSpan.FromSeconds(Math.Max(0, left / rate));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
    }
}
