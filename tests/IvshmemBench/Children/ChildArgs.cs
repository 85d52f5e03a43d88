using System.Globalization;

namespace Ivshmem.Bench.Children;

/// <summary>The key=value arguments the coordinator passes to a child (fds are inherited numbers).</summary>
internal sealed class ChildArgs
{
    private readonly Dictionary<string, string> _values;

    private ChildArgs(string role, Dictionary<string, string> values)
    {
        Role = role;
        _values = values;
    }

    public string Role { get; }

    public static ChildArgs Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0) throw new ArgumentException("usage: ivshmem-bench --child ROLE key=value...");
        var values = new Dictionary<string, string>();
        foreach (string a in args.Skip(1))
        {
            int eq = a.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"child argument '{a}' is not key=value");
            values[a[..eq]] = a[(eq + 1)..];
        }
        return new ChildArgs(args[0], values);
    }

    public bool Has(string key) => _values.ContainsKey(key);

    public long Long(string key, long? fallback = null) =>
        _values.TryGetValue(key, out string? v) ? long.Parse(v, CultureInfo.InvariantCulture)
        : fallback ?? throw new ArgumentException($"child role {Role}: missing {key}=");

    public int Int(string key, int? fallback = null) => checked((int)Long(key, fallback));

    public string String(string key, string? fallback = null) =>
        _values.TryGetValue(key, out string? v) ? v : fallback ?? throw new ArgumentException($"child role {Role}: missing {key}=");
}
