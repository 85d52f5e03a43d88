using System.Globalization;

namespace Ivshmem.Agent.Cli;

/// <summary>Sizes on the command line: bytes, or a whole number with K, M, G, T (powers of 1024, as
/// the daemon's configuration writes them): 64M = 64 MiB.</summary>
internal static class Sizes
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        text = text.Trim();
        if (text.Length == 0) return false;
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, 'T' => 1L << 40, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        if (digits.EndsWith("i", StringComparison.OrdinalIgnoreCase) || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            return false;
        if (value > long.MaxValue / unit) return false;
        bytes = value * unit;
        return true;
    }
}
