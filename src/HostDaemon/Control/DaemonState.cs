namespace Ivshmem.Daemon.Control;

/// <summary>What the last reload did: shown by STATUS= and by <c>ivshmemd status</c>.</summary>
public sealed record ReloadRecord(DateTimeOffset At, bool Succeeded, IReadOnlyList<string> Errors, string Summary);

/// <summary>Facts about the running daemon beyond what the server core knows.</summary>
internal sealed class DaemonState(string configurationSource, string? configPath)
{
    private ReloadRecord? _lastReload;

    public string ConfigurationSource { get; set; } = configurationSource;
    public string? ConfigPath { get; } = configPath;
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public ReloadRecord? LastReload
    {
        get => Volatile.Read(ref _lastReload);
        set => Volatile.Write(ref _lastReload, value);
    }
}
