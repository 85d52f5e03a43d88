namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>The settings of a unit file as written: section → key → values in order (a key may
/// repeat), comments and blank lines dropped. Enough to assert what the unit says; systemd-analyze
/// judges whether systemd accepts it.</summary>
internal sealed class SystemdUnitFile
{
    private readonly Dictionary<string, Dictionary<string, List<string>>> _sections = new(StringComparer.Ordinal);

    public SystemdUnitFile(string text)
    {
        Dictionary<string, List<string>>? section = null;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';'))
                continue;
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = new Dictionary<string, List<string>>(StringComparer.Ordinal);
                _sections[line[1..^1]] = section;
                continue;
            }
            int equals = line.IndexOf('=');
            if (section is null || equals < 0)
                throw new FormatException($"not a unit file line: {raw}");
            string key = line[..equals].Trim();
            if (!section.TryGetValue(key, out var values))
                section[key] = values = [];
            values.Add(line[(equals + 1)..].Trim());
        }
    }

    /// <summary>The one value of <paramref name="key"/>; fails when it is missing or repeated.</summary>
    public string Single(string section, string key)
    {
        Assert.True(_sections.TryGetValue(section, out var keys), $"no [{section}] section");
        Assert.True(keys.TryGetValue(key, out var values), $"[{section}] has no {key}=");
        return Assert.Single(values);
    }
}
