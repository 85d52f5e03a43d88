namespace Ivshmem.Daemon.Configuration;

/// <summary>The <c>metrics</c> section: where the daemon writes its Prometheus metrics (text
/// exposition format, for node_exporter's textfile collector) and how often.</summary>
/// <param name="TextfilePath">Absolute path of the .prom file; replaced atomically (rename) each time.</param>
/// <param name="Interval">Time between two writes.</param>
public sealed record MetricsOptions(string TextfilePath, TimeSpan Interval)
{
    public const int DefaultIntervalSeconds = 15;
    public const int MinIntervalSeconds = 1;
    public const int MaxIntervalSeconds = 3600;
}
