using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Ivshmem.Agent.Net;

/// <summary>'net status' without --json: the status document as a few lines per peer.</summary>
internal static class NetStatusText
{
    public static string Format(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        var text = new StringBuilder();
        if (root.TryGetProperty("device", out JsonElement device) && device.GetString() is { } deviceState && deviceState != "attached")
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{root.GetProperty("tun").GetString()}: mtu {root.GetProperty("mtu").GetInt32()}; {deviceState}; will announce {List(root.GetProperty("addresses"))}");
            return text.ToString();
        }
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{root.GetProperty("tun").GetString()}: mtu {root.GetProperty("mtu").GetInt32()}, offloads {(root.GetProperty("offload").GetBoolean() ? "on" : "off")}, " +
            $"wait mode {root.GetProperty("wait_mode").GetString()}; this side is '{root.GetProperty("name").GetString()}' (id {root.GetProperty("id").GetInt32()}), " +
            $"announcing {List(root.GetProperty("addresses"))}");
        long unroutable = root.GetProperty("unroutable_packets").GetInt64();
        if (unroutable > 0) text.AppendLine(CultureInfo.InvariantCulture, $"packets read from the device for no peer: {unroutable}");
        JsonElement peers = root.GetProperty("peers");
        if (peers.GetArrayLength() == 0) text.AppendLine("no other peer in the region");
        foreach (JsonElement peer in peers.EnumerateArray())
        {
            string state = peer.GetProperty("state").GetString() ?? "";
            string reason = peer.GetProperty("reason").GetString() ?? "";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"peer '{peer.GetProperty("name").GetString()}' (id {peer.GetProperty("id").GetInt32()}): {state}{(reason.Length > 0 ? ": " + reason : "")}");
            Line(text, "addresses", List(peer.GetProperty("addresses")));
            if (peer.GetProperty("refused").GetArrayLength() > 0) Line(text, "refused", string.Join("; ", Items(peer.GetProperty("refused"))));
            Line(text, "routes", List(peer.GetProperty("routes")));
            Line(text, "to peer", Traffic(peer.GetProperty("to_peer")));
            Line(text, "from peer", Traffic(peer.GetProperty("from_peer")));
            JsonElement dropped = peer.GetProperty("dropped");
            long total = dropped.EnumerateObject().Sum(p => p.Value.GetInt64());
            Line(text, "dropped", string.Create(CultureInfo.InvariantCulture,
                $"{total} ({string.Join(", ", dropped.EnumerateObject().Select(p => $"{p.Name.Replace('_', ' ')} {p.Value.GetInt64()}"))}); stalls {peer.GetProperty("stalls").GetInt64()}"));
        }
        return text.ToString();
    }

    private static void Line(StringBuilder text, string label, string value) =>
        text.AppendLine(CultureInfo.InvariantCulture, $"  {label,-10} {value}");

    private static IEnumerable<string> Items(JsonElement array) => array.EnumerateArray().Select(e => e.GetString() ?? "");

    private static string List(JsonElement array) => array.GetArrayLength() == 0 ? "none" : string.Join(", ", Items(array));

    private static string Traffic(JsonElement direction) => string.Create(CultureInfo.InvariantCulture,
        $"{direction.GetProperty("packets").GetInt64()} packets, {direction.GetProperty("bytes").GetInt64()} bytes");
}
