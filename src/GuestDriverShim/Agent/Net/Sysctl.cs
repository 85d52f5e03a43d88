using System.Globalization;

namespace Ivshmem.Agent.Net;

/// <summary>The per-interface sysctls net reads and writes (/proc/sys/net/ipv4|ipv6/conf/NAME/KEY).
/// In a network namespace these are the namespace's own.</summary>
internal static class Sysctl
{
    public static string Path(string family, string device, string key) => $"/proc/sys/net/{family}/conf/{device}/{key}";

    /// <summary>The value, or null when the file is not there (IPv6 disabled, an older kernel).</summary>
    public static int? Read(string family, string device, string key)
    {
        try
        {
            return int.Parse(File.ReadAllText(Path(family, device, key)).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Writes the value; false when the file is not there.</summary>
    public static bool Write(string family, string device, string key, int value)
    {
        string path = Path(family, device, key);
        if (!File.Exists(path)) return false;
        File.WriteAllText(path, value.ToString(CultureInfo.InvariantCulture));
        return true;
    }
}
