using System.Globalization;

namespace Ivshmem.Daemon.Logging;

/// <summary>"1 error", "2 errors": counts in messages read as English. Only regular nouns (a plural
/// with "s") are needed here.</summary>
internal static class Plural
{
    /// <summary><paramref name="noun"/> as it goes after <paramref name="count"/>: "peer" or "peers".</summary>
    public static string Noun(long count, string noun) => count == 1 ? noun : noun + "s";

    /// <summary>The count and its noun: "1 peer", "0 peers", "3 peers".</summary>
    public static string Of(long count, string noun) => count.ToString(CultureInfo.InvariantCulture) + " " + Noun(count, noun);
}
