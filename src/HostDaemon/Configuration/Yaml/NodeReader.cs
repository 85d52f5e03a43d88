using System.Globalization;
using System.Text;

namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>
/// Typed reads of single values. Each returns null after reporting an error (or when the value is
/// YAML null, which the caller treats as "not given"), so one bad value never hides the next.
/// </summary>
internal sealed class NodeReader(ConfigErrorSink errors)
{
    public ConfigErrorSink Errors { get; } = errors;

    /// <summary>Reports keys of <paramref name="mapping"/> not in <paramref name="validKeys"/>,
    /// suggesting the closest valid one.</summary>
    public void CheckKeys(ConfigMapping mapping, IReadOnlyList<string> validKeys, string where)
    {
        foreach (var entry in mapping.Entries)
        {
            string key = entry.Key.Value;
            if (validKeys.Contains(key))
                continue;
            // A typo (a few edits away) or a shortened key ("runtime_dir") is worth a suggestion.
            string? guess = validKeys.FirstOrDefault(k => key.Length >= 4 && k.StartsWith(key, StringComparison.Ordinal))
                ?? validKeys.Where(k => EditDistance(k, key) <= Math.Max(2, key.Length / 3)).MinBy(k => EditDistance(k, key));
            string didYouMean = guess is not null ? $"did you mean '{guess}'? " : "";
            Errors.Add(entry.Key.Start, $"unknown key '{key}' {where}; {didYouMean}valid keys: {string.Join(", ", validKeys)}");
        }
    }

    public ConfigMapping? Mapping(ConfigNode node, string what, string remedy)
    {
        if (node is ConfigMapping mapping)
            return mapping;
        if (node.AlreadyReported)
            return null;
        Errors.Add(node.Start, $"{what} must be a mapping of 'key: value' lines, not {node.KindForMessages}; {remedy}");
        return null;
    }

    /// <summary>A single text value; null when absent, YAML null, or not a scalar (reported).</summary>
    public string? Text(ConfigNode node, string key)
    {
        if (node.AlreadyReported)
            return null;
        if (node is ConfigScalar scalar)
            return scalar.IsNull ? null : scalar.Value;
        Errors.Add(node.Start, $"'{key}' must be a single value, not {node.KindForMessages}; write it as '{key}: VALUE' on one line");
        return null;
    }

    /// <summary>A required text value: YAML null is reported as missing.</summary>
    public string? RequiredText(ConfigNode node, string key, string example)
    {
        string? text = Text(node, key);
        if (text is null && node is ConfigScalar)
            Errors.Add(node.Start, $"'{key}' has no value; give one, e.g. '{key}: {example}'");
        return text;
    }

    public int? Integer(ConfigNode node, string key, int min, int max, string reason)
    {
        string? text = Text(node, key);
        if (text is null)
            return null;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            Errors.Add(node.Start, $"'{key}' must be a whole number, not '{text}'; write one from {min} to {max}");
            return null;
        }
        if (value < min || value > max)
        {
            Errors.Add(node.Start, $"'{key}' is {value}; it must be from {min} to {max} ({reason})");
            return null;
        }
        return value;
    }

    /// <summary>true or false (YAML 1.2's spellings only: "yes" and "on" are refused rather than guessed).</summary>
    public bool? Boolean(ConfigNode node, string key)
    {
        string? text = Text(node, key);
        switch (text)
        {
            case null: return null;
            case "true": return true;
            case "false": return false;
            default:
                Errors.Add(node.Start, $"'{key}' must be true or false, not '{text}'; write '{key}: true' or '{key}: false'");
                return null;
        }
    }

    public long? Size(ConfigNode node, string key)
    {
        string? text = Text(node, key);
        if (text is null)
            return null;
        if (!ByteSize.TryParse(text, out long bytes, out string? error, $"the largest region is {ByteSize.Format(ConfigLimits.MaxRegionSize)}"))
        {
            Errors.Add(node.Start, $"'{key}' value {error}");
            return null;
        }
        return bytes;
    }

    public string? AbsolutePath(ConfigNode node, string key)
    {
        string? text = Text(node, key);
        if (text is null)
            return null;
        if (!Path.IsPathRooted(text) || text.Contains('\0'))
        {
            Errors.Add(node.Start, $"'{key}' must be an absolute path (starting with '/'), not '{text}'; the daemon runs with / as its working directory");
            return null;
        }
        // Normalised ("/run//x/" -> "/run/x") so that duplicate checks compare like with like.
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(text));
    }

    /// <summary>A UNIX socket path: absolute and short enough for sun_path.</summary>
    public string? SocketPath(ConfigNode node, string key)
    {
        string? path = AbsolutePath(node, key);
        if (path is not null && !CheckSocketPathLength(path, node.Start, $"'{key}' path '{path}' is", "choose a shorter path"))
            return null;
        return path;
    }

    /// <summary>Reports a path longer than sun_path holds: "{subject} N bytes long; ..., so {remedy}".</summary>
    public bool CheckSocketPathLength(string path, SourceMark at, string subject, string remedy)
    {
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes <= ConfigLimits.MaxSocketPathBytes)
            return true;
        Errors.Add(at, $"{subject} {bytes} bytes long; a UNIX socket path holds at most {ConfigLimits.MaxSocketPathBytes} bytes (sun_path), so {remedy}");
        return false;
    }

    /// <summary>Octal permission bits ("0660", "660", 0660 unquoted): always read as octal.</summary>
    public UnixFileMode? SocketMode(ConfigNode node, string key)
    {
        string? text = Text(node, key);
        if (text is null)
            return null;
        string digits = text.StartsWith("0o", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (digits.Length is < 3 or > 4 || !digits.All(c => c is >= '0' and <= '7'))
        {
            Errors.Add(node.Start, $"'{key}' '{text}' is not an octal permission mode; write 3 or 4 octal digits in quotes, e.g. \"0660\"");
            return null;
        }
        int mode = Convert.ToInt32(digits, 8);
        if (mode > 0b111_111_111) // 0777
        {
            Errors.Add(node.Start, $"'{key}' '{text}' sets setuid, setgid or sticky bits; only permission bits 0000..0777 apply to a socket, e.g. \"0660\"");
            return null;
        }
        if ((mode & 0b010_010_010) == 0) // no w bit in 0222
        {
            Errors.Add(node.Start, $"'{key}' '{text}' gives nobody write permission, but connecting to a UNIX socket needs it; use e.g. \"0660\" (owner and group) or \"0600\" (owner only)");
            return null;
        }
        return (UnixFileMode)mode;
    }

    public string? AccountName(ConfigNode node, string key)
    {
        string? text = Text(node, key);
        if (text is null)
            return null;
        if (!NameRules.IsValidAccountName(text))
        {
            Errors.Add(node.Start, $"'{key}' '{text}' is not a valid user or group name; {NameRules.AccountNameRule}");
            return null;
        }
        return text;
    }

    /// <summary>A list of names, each checked by <paramref name="isValid"/>; a name twice is an error.</summary>
    public IReadOnlyList<string>? NameList(ConfigNode node, string key, string itemWhat, Func<string, bool> isValid, string rule, string example) =>
        NameList(node, key, itemWhat, name => isValid(name) ? null : rule, example);

    /// <summary>A list of distinct names; <paramref name="problem"/> says what is wrong with one (the
    /// text after "is not a valid ...;"), or null when it is fine.</summary>
    public IReadOnlyList<string>? NameList(ConfigNode node, string key, string itemWhat, Func<string, string?> problem, string example)
    {
        if (node is ConfigScalar { IsNull: true })
            return [];
        if (node.AlreadyReported)
            return null;
        if (node is not ConfigSequence sequence)
        {
            Errors.Add(node.Start, $"'{key}' must be a list of {itemWhat}s, not {node.KindForMessages}; write e.g. '{key}: {example}'");
            return null;
        }
        var names = new List<string>();
        var firstAt = new Dictionary<string, SourceMark>(StringComparer.Ordinal);
        bool ok = true;
        foreach (var item in sequence.Items)
        {
            if (item.AlreadyReported)
            {
                ok = false;
                continue;
            }
            if (item is not ConfigScalar scalar || scalar.IsNull)
            {
                Errors.Add(item.Start, $"each entry of '{key}' must be a {itemWhat}, not {item.KindForMessages}; write one flat list, e.g. '{key}: {example}'");
                ok = false;
                continue;
            }
            if (problem(scalar.Value) is { } why)
            {
                Errors.Add(item.Start, $"'{scalar.Value}' in '{key}' is not a valid {itemWhat}; {why}");
                ok = false;
                continue;
            }
            if (firstAt.TryGetValue(scalar.Value, out var first))
            {
                Errors.Add(item.Start, $"{itemWhat} '{scalar.Value}' is listed twice in '{key}' (first at {first}); list each {itemWhat} once");
                ok = false;
                continue;
            }
            firstAt.Add(scalar.Value, item.Start);
            names.Add(scalar.Value);
        }
        return ok ? names : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
            previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
