using System.Text;
using System.Text.RegularExpressions;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Configuration;

/// <summary>What the configuration accepts as names, and why.</summary>
internal static partial class NameRules
{
    // Region names end up in a file name (<name>.sock), in QEMU's chardev id "ivshmem-<name>" (QEMU ids
    // allow letters, digits, '-', '.', '_') and in libvirt's <shmem name=...>: keep to what all accept.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex RegionNamePattern();

    // The portable POSIX user name characters plus the '$' machine accounts end with; not all digits,
    // because a numeric name would be mistaken for a uid.
    [GeneratedRegex(@"^(?![0-9]+$)[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$")]
    private static partial Regex AccountNamePattern();

    public const int MaxAccountNameLength = 32;

    public static bool IsValidRegionName(string name) =>
        name.Length <= ConfigLimits.MaxRegionNameLength && RegionNamePattern().IsMatch(name);

    public const string RegionNameRule =
        "use letters, digits, '-', '_' and '.', starting with a letter or digit, at most 48 characters (the name becomes part of the socket file name and of QEMU's chardev id)";

    public static bool IsValidAccountName(string name) =>
        name.Length <= MaxAccountNameLength && AccountNamePattern().IsMatch(name);

    public const string AccountNameRule =
        "a user or group name has letters, digits, '_', '.', '-' (not first), at most 32 characters, and is not a number";

    /// <summary>Why <paramref name="name"/> cannot be a VM name (what would be valid), or null. QEMU
    /// accepts nearly any -name; only empty names and control characters (which cannot be typed into a
    /// command line sensibly) are refused, and names longer than a peer table entry holds, which
    /// admission would refuse when the VM connects.</summary>
    public static string? VmNameProblem(string name)
    {
        if (name.Length == 0 || name.Any(char.IsControl))
            return "a VM name is QEMU's -name: not empty, no control characters";
        int bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes > PeerTable.MaxNameBytes)
            return $"it is {bytes} bytes in UTF-8, and a peer table entry holds at most {PeerTable.MaxNameBytes} (the daemon would refuse the VM when it connects); use a shorter QEMU -name";
        return null;
    }
}
