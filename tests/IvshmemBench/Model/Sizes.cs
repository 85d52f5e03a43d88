using System.Globalization;

namespace Ivshmem.Bench.Model;

/// <summary>
/// The transfer sizes of the paper's Table IV. Its small sizes double from 16 KB to 512 KB and on to
/// 1 MB and 2 MB, which only works in binary units (512 KB x 2 = 1 MB needs 1 MB = 1024 KB), so every
/// unit here is binary: KB = 1024 bytes, MB = 2^20, GB = 2^30. Bandwidth is in Mbit/s = 10^6 bit/s,
/// the network convention the paper's unit name follows.
/// </summary>
internal static class Sizes
{
    private const long K = 1024, M = K * K, G = M * K;

    public static readonly IReadOnlyList<long> TableIV =
    [
        16 * K, 32 * K, 64 * K, 128 * K, 256 * K, 512 * K, 1 * M, 2 * M,
        100 * M, 200 * M, 300 * M, 400 * M, 500 * M, 600 * M,
        1 * G, 2 * G, 3 * G, 4 * G,
    ];

    /// <summary>One or two sizes per group of Table IV: what <c>--quick</c> runs.</summary>
    public static readonly IReadOnlyList<long> Quick = [16 * K, 256 * K, 2 * M, 100 * M, 1 * G];

    /// <summary>The paper's "big" group starts here: <c>--big-repeat</c> applies from this size up.</summary>
    public const long BigFrom = 1 * G;

    /// <summary>"16 KB", "100 MB", "4 GB", in the paper's (binary) units.</summary>
    public static string Label(long bytes) => bytes switch
    {
        >= G when bytes % G == 0 => $"{bytes / G} GB",
        >= M when bytes % M == 0 => $"{bytes / M} MB",
        >= K when bytes % K == 0 => $"{bytes / K} KB",
        _ => $"{bytes} B",
    };

    /// <summary>Parses "16K", "2M", "4G", "65536" (binary units, as <see cref="Label"/> prints them).</summary>
    public static long Parse(string text)
    {
        string t = text.Trim().ToUpperInvariant().Replace("IB", "").Replace("B", "").Replace(" ", "");
        long unit = 1;
        if (t.EndsWith('K')) unit = K;
        else if (t.EndsWith('M')) unit = M;
        else if (t.EndsWith('G')) unit = G;
        if (unit != 1) t = t[..^1];
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > long.MaxValue / unit)
            throw new FormatException($"'{text}' is not a size: use bytes or a whole number with K, M or G (1024-based), e.g. 16K, 100M, 4G");
        return n * unit;
    }

    /// <summary>Mbit/s (10^6 bit/s) for <paramref name="bytes"/> moved in <paramref name="seconds"/>.</summary>
    public static double Mbps(long bytes, double seconds) => bytes * 8.0 / 1e6 / seconds;
}
