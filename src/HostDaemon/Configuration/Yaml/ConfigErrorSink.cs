namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>Collects errors for one file so that validation can go on after the first problem.</summary>
internal sealed class ConfigErrorSink(string file)
{
    private readonly List<ConfigError> _errors = [];

    public string File { get; } = file;
    public bool HasErrors => _errors.Count > 0;
    public int Count => _errors.Count;

    public void Add(SourceMark at, string message) => _errors.Add(new ConfigError(File, at.Line, at.Column, message));

    /// <summary>File order, so the output reads top to bottom whatever order checks ran in.</summary>
    public IReadOnlyList<ConfigError> Sorted() =>
        _errors.Select((e, i) => (e, i)).OrderBy(x => x.e.Line).ThenBy(x => x.e.Column).ThenBy(x => x.i).Select(x => x.e).ToList();
}
