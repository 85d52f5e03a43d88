namespace Ivshmem.Daemon.Configuration;

/// <summary>
/// One problem in a configuration file, at a 1-based line and column. <see cref="ToString"/> gives
/// the GCC-style line editors and CI annotate from: <c>FILE:LINE:COL: error: MESSAGE</c>, where the
/// message says what is wrong and, after a semicolon, what would be valid.
/// </summary>
public sealed record ConfigError(string File, int Line, int Column, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: error: {Message}";
}
