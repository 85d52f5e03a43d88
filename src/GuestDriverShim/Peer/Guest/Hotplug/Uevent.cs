using System.Text;

namespace Ivshmem.Peer.Guest;

/// <summary>
/// One kernel uevent: "ACTION@DEVPATH" and its KEY=VALUE properties (docs/guest.md, "When the
/// device comes and goes"). For a PCI device the kernel adds PCI_ID ("1AF4:1110") and PCI_SLOT_NAME
/// ("0000:01:00.0").
/// </summary>
public sealed record Uevent(string Action, string DevPath, IReadOnlyDictionary<string, string> Properties)
{
    /// <summary>The kernel's uevent buffer (UEVENT_BUFFER_SIZE) is 2048 bytes; a longer datagram
    /// is not one of its events.</summary>
    public const int MaxLength = 2048;

    /// <summary>More properties than a kernel event carries (the buffer holds at most 64 variables).</summary>
    private const int MaxProperties = 64;

    public string? Get(string key) => Properties.TryGetValue(key, out string? value) ? value : null;

    public string? Subsystem => Get("SUBSYSTEM");

    /// <summary>The PCI address of a PCI device's event ("0000:01:00.0"), or null.</summary>
    public string? PciSlotName => Subsystem == "pci" ? Get("PCI_SLOT_NAME") : null;

    /// <summary>True for an event about an ivshmem PCI device (PCI_ID 1AF4:1110).</summary>
    public bool IsIvshmem =>
        Subsystem == "pci" && string.Equals(Get("PCI_ID"), $"{PciDiscovery.IvshmemVendorId:X4}:{PciDiscovery.IvshmemDeviceId:X4}", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Parses one datagram. Anything that is not a kernel uevent (no '@' in the first string, an
    /// empty action or path, bytes that are not UTF-8, longer than <see cref="MaxLength"/>, more
    /// than 64 properties) gives null and the reason in <paramref name="error"/>. A property
    /// without '=' is skipped; a missing final NUL is accepted (the last string ends at the end).
    /// </summary>
    public static Uevent? TryParse(ReadOnlySpan<byte> datagram, out string? error)
    {
        if (datagram.Length == 0) { error = "an empty datagram"; return null; }
        if (datagram.Length > MaxLength) { error = $"a datagram of {datagram.Length} bytes, longer than a uevent ({MaxLength})"; return null; }
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var parts = new List<string>();
        foreach (Range range in datagram.Split((byte)0))
        {
            ReadOnlySpan<byte> part = datagram[range];
            if (part.Length == 0) continue;
            try { parts.Add(strict.GetString(part)); }
            catch (DecoderFallbackException) { error = "bytes that are not UTF-8"; return null; }
        }
        if (parts.Count == 0) { error = "only NUL bytes"; return null; }
        string header = parts[0];
        int at = header.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at == header.Length - 1) { error = $"no ACTION@DEVPATH at the start ('{Shorten(header)}')"; return null; }
        if (parts.Count - 1 > MaxProperties) { error = $"{parts.Count - 1} properties, more than a uevent carries ({MaxProperties})"; return null; }
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in parts.Skip(1))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            properties[part[..eq]] = part[(eq + 1)..];
        }
        error = null;
        return new Uevent(header[..at], header[(at + 1)..], properties);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "...";

    public override string ToString() => $"{Action}@{DevPath}";
}
