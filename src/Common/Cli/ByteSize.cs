using System.Globalization;
using System.Text.RegularExpressions;

namespace Ivshmem.Cli;

/// <summary>
/// Sizes as the configuration and both command lines write them: whole bytes ("65536") or a whole
/// number with a binary suffix, K/M/G/T or KiB/MiB/GiB/TiB (powers of 1024, like QEMU's and
/// ivshmem-server's -l). No fractions and no decimal units: a region must be an exact power of two,
/// and "1.5M" or "64MB" would hide the exact number of bytes. Linked into ivshmemd and ivshmem-agent,
/// so "64MiB" means the same to both.
/// </summary>
internal static partial class ByteSize
{
    [GeneratedRegex(@"^\s*(?<number>[0-9]+)\s*(?<suffix>[A-Za-z]*)\s*$")]
    private static partial Regex SizePattern();

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong.
    /// <paramref name="tooLarge"/> is what to say of a number beyond 63 bits (the configuration names
    /// its largest region there).</summary>
    public static bool TryParse(string text, out long bytes, out string? error, string tooLarge = "a size must fit in 63 bits of bytes")
    {
        bytes = 0;
        Match match = SizePattern().Match(text);
        if (!match.Success)
        {
            error = $"'{text}' is not a size; write whole bytes or a whole number with K, M, G or T (powers of 1024), e.g. 64M";
            return false;
        }
        int shift;
        switch (match.Groups["suffix"].Value.ToUpperInvariant())
        {
            case "": shift = 0; break;
            case "K" or "KIB": shift = 10; break;
            case "M" or "MIB": shift = 20; break;
            case "G" or "GIB": shift = 30; break;
            case "T" or "TIB": shift = 40; break;
            case "B": shift = 0; break;
            case "KB" or "MB" or "GB" or "TB":
                error = $"'{text}' uses a decimal unit; sizes are binary here: write K, M, G or T (or KiB, MiB, GiB, TiB), e.g. 64M = 64 MiB";
                return false;
            default:
                error = $"'{text}' has an unknown unit '{match.Groups["suffix"].Value}'; use K, M, G or T (powers of 1024), e.g. 64M";
                return false;
        }
        if (!long.TryParse(match.Groups["number"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long number)
            || number > (long.MaxValue >> shift))
        {
            error = $"'{text}' is too large; {tooLarge}";
            return false;
        }
        bytes = number << shift;
        error = null;
        return true;
    }

    /// <summary>The shortest exact spelling the configuration accepts: 4194304 → "4M", 65537 → "65537".</summary>
    public static string Format(long bytes)
    {
        foreach ((int shift, string suffix) in new[] { (40, "T"), (30, "G"), (20, "M"), (10, "K") })
        {
            long unit = 1L << shift;
            if (bytes != 0 && bytes % unit == 0)
                return (bytes / unit).ToString(CultureInfo.InvariantCulture) + suffix;
        }
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>For people: "64 MiB", "1 GiB", "65537 bytes".</summary>
    public static string Describe(long bytes)
    {
        foreach ((int shift, string unit) in new[] { (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB") })
        {
            long size = 1L << shift;
            if (bytes != 0 && bytes % size == 0)
                return $"{(bytes / size).ToString(CultureInfo.InvariantCulture)} {unit}";
        }
        return $"{bytes.ToString(CultureInfo.InvariantCulture)} bytes";
    }
}
