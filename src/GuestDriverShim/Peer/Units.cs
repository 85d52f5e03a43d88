using System.Globalization;

namespace Ivshmem.Peer;

/// <summary>Human-readable sizes and rates for messages: binary units for sizes (as QEMU and the
/// configuration use them), decimal MB/s for rates (as network tools do).</summary>
public static class Units
{
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }

    /// <summary>Megabytes (10^6) per second.</summary>
    public static string Rate(double bytesPerSecond) =>
        string.Create(CultureInfo.InvariantCulture, $"{bytesPerSecond / 1e6:0.0} MB/s");
}
