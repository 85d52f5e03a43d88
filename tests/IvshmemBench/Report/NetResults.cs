using System.Text.Json;

namespace Ivshmem.Bench.Report;

/// <summary>One throughput entry of scripts/net-bench's results.json: an experiment's transport,
/// protocol and parameters, and its Mbit/s over the rounds.</summary>
internal sealed record NetThroughput(string Experiment, string Transport, string Protocol, string Params, double Min, double Median, double Max, int Repeats)
{
    /// <summary>The value of one parameter, or null.</summary>
    public string? Param(string name) => ParamsOf(Params).GetValueOrDefault(name);

    internal static Dictionary<string, string> ParamsOf(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!.ToDictionary(p => p.Key, p => p.Value.ToString());
}

/// <summary>One latency entry: ping round trips of an experiment's transport, in microseconds.</summary>
internal sealed record NetLatency(string Experiment, string Transport, string Params, int Samples, double P50, double P99, double Mean);

/// <summary>What scripts/net-bench wrote (results.json), as far as the charts and the table need it.</summary>
internal sealed class NetResults
{
    public required IReadOnlyList<NetThroughput> Throughput { get; init; }
    public required IReadOnlyList<NetLatency> Latency { get; init; }
    public required string Machine { get; init; }
    public required string Settings { get; init; }

    public static NetResults Read(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement root = doc.RootElement;
        return new NetResults
        {
            Throughput = [.. root.GetProperty("throughput").EnumerateArray().Select(e => new NetThroughput(
                e.GetProperty("experiment").GetString()!, e.GetProperty("transport").GetString()!,
                e.GetProperty("protocol").GetString()!, e.GetProperty("params").GetRawText(),
                Mbps(e, "min"), Mbps(e, "median"), Mbps(e, "max"), e.GetProperty("repeats").GetInt32()))],
            Latency = [.. root.GetProperty("latency").EnumerateArray().Select(e => new NetLatency(
                e.GetProperty("experiment").GetString()!, e.GetProperty("transport").GetString()!,
                e.GetProperty("params").GetRawText(), e.GetProperty("samples").GetInt32(),
                e.GetProperty("p50_us").GetDouble(), e.GetProperty("p99_us").GetDouble(), e.GetProperty("mean_us").GetDouble()))],
            Machine = root.GetProperty("machine").GetRawText(),
            Settings = root.GetProperty("settings").GetRawText(),
        };
    }

    private static double Mbps(JsonElement e, string which) => e.GetProperty("mbps").GetProperty(which).GetDouble();
}
