using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary>
/// The QEMU options that attach a VM to a region (docs/configuration.md, "QEMU options"):
/// <c>-chardev socket,id=ivshmem-NAME,path=SOCKET -device ivshmem-doorbell,chardev=ivshmem-NAME,vectors=N</c>.
/// The chardev is a plain client socket: never <c>server=on</c>, and never <c>reconnect=</c>, which
/// hangs QEMU 7.2 at start-up (realize reads from a socket that is not connected yet).
/// </summary>
public static class QemuArguments
{
    /// <summary>QEMU's chardev id for a region: ids allow letters, digits, '-', '.', '_', and region
    /// names are restricted to those, so the id needs no escaping.</summary>
    public static string ChardevId(RegionOptions region) => "ivshmem-" + region.Name;

    /// <summary>The four argv elements for one region, unquoted (as execve receives them).</summary>
    public static IReadOnlyList<string> For(RegionOptions region)
    {
        string id = ChardevId(region);
        return
        [
            "-chardev", $"socket,id={id},path={EscapeOptionValue(region.SocketPath)}",
            "-device", $"ivshmem-doorbell,chardev={id},vectors={region.Vectors}",
        ];
    }

    /// <summary>In a QEMU option string a ',' separates parameters; a literal comma is written ",,".</summary>
    public static string EscapeOptionValue(string value) => value.Replace(",", ",,");

    /// <summary>POSIX shell quoting: words of safe characters stay bare, anything else goes in single
    /// quotes (with ' written as '\'').</summary>
    public static string ShellQuote(string word)
    {
        if (word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "_@%+=:,./-".Contains(c)))
            return word;
        return "'" + word.Replace("'", "'\\''") + "'";
    }
}
