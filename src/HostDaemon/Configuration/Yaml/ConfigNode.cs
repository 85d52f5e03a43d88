using YamlDotNet.Core;

namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>A 1-based position in the configuration text.</summary>
internal readonly record struct SourceMark(int Line, int Column)
{
    public static SourceMark From(Mark mark) => new((int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));
    public static readonly SourceMark Start = new(1, 1);
    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>
/// A YAML node that remembers where it starts. This small tree (rather than YamlDotNet's
/// representation model) is built from parser events so that duplicate keys, anchors and odd keys
/// become collected errors with positions instead of exceptions that stop at the first one.
/// </summary>
internal abstract class ConfigNode(SourceMark start)
{
    public SourceMark Start { get; } = start;

    /// <summary>An error about this node was already reported (an alias to nothing): readers skip it
    /// silently instead of piling "wrong type" errors on top.</summary>
    public bool AlreadyReported { get; init; }

    /// <summary>What this node is, for "must be X, not Y" messages.</summary>
    public abstract string KindForMessages { get; }
}

internal sealed class ConfigScalar(SourceMark start, string value, ScalarStyle style) : ConfigNode(start)
{
    public string Value { get; } = value;

    /// <summary>A plain empty value, <c>~</c> or <c>null</c>: YAML's null, "not given".</summary>
    public bool IsNull => !AlreadyReported && style == ScalarStyle.Plain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string KindForMessages => IsNull ? "empty" : $"'{Value}'";
}

internal sealed class ConfigSequence(SourceMark start, IReadOnlyList<ConfigNode> items) : ConfigNode(start)
{
    public IReadOnlyList<ConfigNode> Items { get; } = items;
    public override string KindForMessages => "a list";
}

/// <summary>A mapping whose keys are scalars; entries keep file order, duplicates already reported.</summary>
internal sealed class ConfigMapping(SourceMark start, IReadOnlyList<ConfigMappingEntry> entries) : ConfigNode(start)
{
    public IReadOnlyList<ConfigMappingEntry> Entries { get; } = entries;
    public override string KindForMessages => "a mapping";

    public ConfigMappingEntry? Find(string key) => Entries.FirstOrDefault(e => e.Key.Value == key);
}

internal sealed record ConfigMappingEntry(ConfigScalar Key, ConfigNode Value);
