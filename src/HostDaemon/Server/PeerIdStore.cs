using System.Globalization;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// Where each region's next peer id is kept across stops, starts and crashes, so that this daemon
/// never hands an id out twice in a region (docs/protocol.md, "Peer ids"): one small file per region,
/// <c>&lt;state directory&gt;/&lt;region&gt;.next-peer-id</c>, holding the end of the block of ids
/// reserved so far as a decimal number. A block is written (and fsynced, file and directory) before
/// its first id is handed out, so a crash can skip ids but never repeat one, and a join costs at
/// most one small write per <see cref="BlockSize"/> ids.
/// </summary>
internal sealed class PeerIdStore(string directory)
{
    /// <summary>Ids reserved by one write.</summary>
    public const int BlockSize = 64;

    /// <summary>The largest value kept: one past the last id (65535).</summary>
    public const long Limit = 0x10000;

    public string Directory { get; } = directory;

    public string PathOf(string region) => Path.Combine(Directory, region + ".next-peer-id");

    /// <summary>Creates the directory if needed (systemd's StateDirectory= has already); throws
    /// <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when it cannot.</summary>
    public void Prepare() => System.IO.Directory.CreateDirectory(Directory);

    /// <summary>The saved end of the reserved ids of <paramref name="region"/>: 0 when nothing was
    /// saved; otherwise 0..<see cref="Limit"/>. <paramref name="problem"/> says why a file that exists
    /// could not be used (then 0 is returned).</summary>
    public long Load(string region, out string? problem)
    {
        problem = null;
        string path = PathOf(region);
        string text;
        try { text = File.ReadAllText(path); }
        catch (FileNotFoundException) { return 0; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = e.Message;
            return 0;
        }
        if (!long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            problem = "it does not hold a number";
            return 0;
        }
        return Math.Min(value, Limit);
    }

    /// <summary>Saves <paramref name="reservedUpTo"/> for <paramref name="region"/> durably: a new file
    /// written and fsynced, renamed over the old one, the directory fsynced. Throws
    /// <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/>.</summary>
    public void Save(string region, long reservedUpTo)
    {
        string path = PathOf(region);
        string temporary = path + ".new";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(reservedUpTo.ToString(CultureInfo.InvariantCulture) + "\n"));
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        Interop.SyncDirectory(Directory);
    }
}
