namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>Reads the optional top-level <c>metrics</c> section.</summary>
internal static class MetricsReader
{
    private const string Example = "'metrics: {textfile: /var/lib/prometheus/node-exporter/ivshmemd.prom}'";

    /// <summary>The section's options; null when it is absent, YAML null, or has errors (reported).</summary>
    public static MetricsOptions? Read(ConfigNode node, NodeReader read)
    {
        if (node is ConfigScalar { IsNull: true })
            return null;
        ConfigMapping? map = read.Mapping(node, "'metrics'", $"write e.g. {Example}");
        if (map is null)
            return null;
        read.CheckKeys(map, ConfigKeys.MetricsSection, "in 'metrics'");

        string? textfile = null;
        if (map.Find(ConfigKeys.MetricsTextfile) is { } fileEntry)
        {
            textfile = read.AbsolutePath(fileEntry.Value, ConfigKeys.MetricsTextfile);
            if (textfile is not null && !textfile.EndsWith(".prom", StringComparison.Ordinal))
            {
                read.Errors.Add(fileEntry.Value.Start, $"'{ConfigKeys.MetricsTextfile}' '{textfile}' does not end in '.prom'; node_exporter's textfile collector reads only *.prom files");
                textfile = null;
            }
            else if (textfile is null && fileEntry.Value is ConfigScalar { IsNull: true })
                read.Errors.Add(fileEntry.Value.Start, $"'{ConfigKeys.MetricsTextfile}' has no value; give the file to write, e.g. {Example}");
        }
        else
        {
            read.Errors.Add(map.Start, $"'metrics' has no '{ConfigKeys.MetricsTextfile}'; give the file to write, e.g. {Example}");
        }

        int interval = MetricsOptions.DefaultIntervalSeconds;
        if (map.Find(ConfigKeys.MetricsInterval) is { } intervalEntry)
            interval = read.Integer(intervalEntry.Value, ConfigKeys.MetricsInterval, MetricsOptions.MinIntervalSeconds, MetricsOptions.MaxIntervalSeconds,
                "seconds between two writes of the file") ?? interval;

        return textfile is null ? null : new MetricsOptions(textfile, TimeSpan.FromSeconds(interval));
    }
}
