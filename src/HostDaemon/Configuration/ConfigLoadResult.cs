using System.Diagnostics.CodeAnalysis;

namespace Ivshmem.Daemon.Configuration;

/// <summary>Either validated options or every error found (never both, never neither).</summary>
public sealed class ConfigLoadResult
{
    private ConfigLoadResult(DaemonOptions? options, IReadOnlyList<ConfigError> errors)
    {
        Options = options;
        Errors = errors;
    }

    /// <summary>The options; null when <see cref="Errors"/> is not empty.</summary>
    public DaemonOptions? Options { get; }

    /// <summary>All errors, in file order; empty on success.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Options))]
    public bool Succeeded => Options is not null;

    internal static ConfigLoadResult Success(DaemonOptions options) => new(options, []);

    internal static ConfigLoadResult Failure(IReadOnlyList<ConfigError> errors)
    {
        if (errors.Count == 0)
            throw new ArgumentException("a failed load needs at least one error", nameof(errors));
        return new(null, errors);
    }
}
