using System.Globalization;
using Ivshmem.Ring;

namespace Ivshmem.TestPeer;

/// <summary>ROLE key=value... as the tests pass them; fds are inherited numbers.</summary>
public sealed class PeerArgs
{
    private readonly Dictionary<string, string> _values;

    private PeerArgs(string role, Dictionary<string, string> values)
    {
        Role = role;
        _values = values;
    }

    public string Role { get; }

    public static PeerArgs Parse(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("usage: TestPeer ROLE key=value...");
        var values = new Dictionary<string, string>();
        foreach (string a in args.Skip(1))
        {
            int eq = a.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"argument '{a}' is not key=value");
            values[a[..eq]] = a[(eq + 1)..];
        }
        return new PeerArgs(args[0], values);
    }

    public long Long(string key, long? fallback = null) =>
        _values.TryGetValue(key, out string? v) ? long.Parse(v, CultureInfo.InvariantCulture)
        : fallback ?? throw new ArgumentException($"missing {key}=");

    public int Int(string key, int? fallback = null) => (int)Long(key, fallback);

    public string String(string key, string? fallback = null) =>
        _values.TryGetValue(key, out string? v) ? v : fallback ?? throw new ArgumentException($"missing {key}=");

    public WaitMode Mode => Enum.Parse<WaitMode>(String("mode", nameof(WaitMode.SpinThenBlock)), ignoreCase: true);

    public RingChannelOptions ChannelOptions => new()
    {
        WaitMode = Mode,
        Timeout = TimeSpan.FromMilliseconds(Long("timeout-ms", 30_000)),
    };
}
