using System.Globalization;

namespace Ivshmem.HostPeerTool;

/// <summary>COMMAND [SOCKET] then --key value pairs.</summary>
internal sealed class ToolArgs
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);

    public string Command { get; private init; } = "";
    public string? Socket { get; private init; }

    public static ToolArgs Parse(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("usage: ivshmem-host-peer join SOCKET [--name N] [--vectors N] | bench --ivshmemd PATH");
        int i = 1;
        string? socket = args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal) ? args[i++] : null;
        var parsed = new ToolArgs { Command = args[0], Socket = socket };
        for (; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected --option value, got '{args[i]}'");
            parsed._options[args[i][2..]] = args[i + 1];
        }
        return parsed;
    }

    public string RequiredSocket => Socket ?? throw new ArgumentException($"{Command} needs the region's SOCKET");

    public string? Get(string key) => _options.GetValueOrDefault(key);

    public string Required(string key) => Get(key) ?? throw new ArgumentException($"{Command} needs --{key}");

    public long Long(string key, long fallback) => Get(key) is { } v ? ParseSize(v) : fallback;

    public int Int(string key, int fallback) => (int)Long(key, fallback);

    /// <summary>A number with an optional K/M/G suffix (powers of 1024), as the configuration writes sizes.</summary>
    private static long ParseSize(string text)
    {
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * unit;
    }
}
