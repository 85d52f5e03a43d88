using System.Text;

namespace Ivshmem.Daemon.Vm;

/// <summary>
/// The VM name of a QEMU process, read from its argv the way QEMU 7.2 itself reads <c>-name</c>, so
/// that pairings can be written in VM names. The caller passes the bytes of /proc/&lt;pid&gt;/cmdline
/// of the peer it got from SO_PEERCRED.
/// <para>
/// What QEMU accepts (softmmu/vl.c lookup_opt, util/qemu-option.c opts_do_parse):
/// <list type="bullet">
/// <item><c>-name web</c> or <c>--name web</c> ("--foo" is treated as "-foo"); the value is the next
/// argv element. <c>-name=web</c> is not an option QEMU knows: it exits with "invalid option".</item>
/// <item>The value is a QemuOpts string with "guest" as the implied first key:
/// <c>web</c>, <c>guest=web,debug-threads=on</c> (libvirt's form), <c>web,process=qemu-web</c>.</item>
/// <item>A comma inside a value is written twice: <c>-name a,,b</c> names the VM "a,b".</item>
/// <item>The "name" option list merges repeated <c>-name</c> options, and a key set twice takes the
/// last value, so the last <c>guest=</c> wins.</item>
/// </list>
/// </para>
/// <para>
/// Trust: a process chooses its own argv, so this name is only as trustworthy as the peer's uid; the
/// daemon must check SO_PEERCRED (allow users/groups) as well and never admit on the name alone.
/// Options read from <c>-readconfig</c> files are not seen here.
/// </para>
/// </summary>
public static class QemuProcessName
{
    /// <summary>The VM name in the NUL-separated argv <paramref name="cmdline"/> (as read from
    /// /proc/PID/cmdline; a trailing NUL is optional), or null when no non-empty guest name is given.</summary>
    public static string? FromCmdline(ReadOnlySpan<byte> cmdline)
    {
        if (cmdline.IsEmpty)
            return null;
        if (cmdline[^1] == 0)
            cmdline = cmdline[..^1];
        // QEMU's argv is bytes; names are compared as UTF-8 text (invalid sequences become U+FFFD and
        // then match no configured name).
        string[] argv = Encoding.UTF8.GetString(cmdline).Split('\0');
        return FromArgv(argv);
    }

    /// <summary>As <see cref="FromCmdline"/>, for an argv already split; argv[0] is the program.</summary>
    public static string? FromArgv(IReadOnlyList<string> argv)
    {
        string? guest = null;
        for (int i = 1; i < argv.Count; i++)
        {
            if (argv[i] is not ("-name" or "--name"))
                continue;
            if (i + 1 >= argv.Count)
                break; // QEMU refuses "-name" without a value ("requires an argument") and never runs
            if (GuestFromOptionValue(argv[i + 1]) is { } value)
                guest = value;
            i++; // the value is consumed, even if it looks like an option
        }
        return string.IsNullOrEmpty(guest) ? null : guest;
    }

    /// <summary>The "guest" key of one <c>-name</c> value, or null when it does not set one.</summary>
    internal static string? GuestFromOptionValue(string value)
    {
        string? guest = null;
        int position = 0;
        bool first = true;
        while (position < value.Length)
        {
            int nameEnd = value.IndexOfAny(['=', ','], position);
            string key;
            string? parameterValue;
            if (nameEnd < 0 || value[nameEnd] == ',')
            {
                if (first)
                {
                    // "web,more": the first parameter without '=' is the implied key "guest".
                    key = "guest";
                    parameterValue = ReadValue(value, ref position);
                }
                else
                {
                    // A bare flag ("debug-threads" means debug-threads=on); never the guest name.
                    key = value[position..(nameEnd < 0 ? value.Length : nameEnd)];
                    parameterValue = null;
                    position = nameEnd < 0 ? value.Length : nameEnd + 1;
                }
            }
            else
            {
                key = value[position..nameEnd];
                position = nameEnd + 1;
                parameterValue = ReadValue(value, ref position);
            }
            if (key == "guest" && parameterValue is not null)
                guest = parameterValue;
            first = false;
        }
        return guest;
    }

    /// <summary>Reads up to the next single ',' (consumed), turning ",," into ','.</summary>
    private static string ReadValue(string text, ref int position)
    {
        var result = new StringBuilder();
        while (position < text.Length)
        {
            char c = text[position];
            if (c == ',')
            {
                if (position + 1 < text.Length && text[position + 1] == ',')
                {
                    result.Append(',');
                    position += 2;
                    continue;
                }
                position++;
                break;
            }
            result.Append(c);
            position++;
        }
        return result.ToString();
    }
}
