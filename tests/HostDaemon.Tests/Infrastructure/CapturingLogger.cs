using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>One log entry as the daemon wrote it.</summary>
internal sealed record LogEntry(LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>Keeps every log entry, so tests can check that the daemon said why it did something.</summary>
internal sealed class CapturingLogger : ILogger
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public IEnumerable<LogEntry> WithEvent(int id) => _entries.Where(e => e.EventId.Id == id);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue(new LogEntry(logLevel, eventId, formatter(state, exception), exception));

    public override string ToString() => string.Join("\n", _entries.Select(e => $"{e.Level} {e.EventId.Id}: {e.Message}"));
}
