using System.Globalization;

namespace Ivshmem.Peer.Guest;

/// <summary>A PCI function's address (BDF) as sysfs and VFIO spell it: "0000:00:04.0".</summary>
public readonly record struct PciAddress(int Domain, int Bus, int Device, int Function)
{
    /// <summary>Parses "DDDD:BB:DD.F" or the short "BB:DD.F" (domain 0), hexadecimal as lspci prints it.</summary>
    public static bool TryParse(string text, out PciAddress address)
    {
        address = default;
        string[] parts = text.Trim().Split(':');
        if (parts.Length is < 2 or > 3) return false;
        int domain = 0;
        if (parts.Length == 3 && !TryHex(parts[0], 4, 0xFFFF, out domain)) return false;
        string bus = parts[^2];
        string[] slotFunction = parts[^1].Split('.');
        if (slotFunction.Length != 2) return false;
        if (!TryHex(bus, 2, 0xFF, out int b) || !TryHex(slotFunction[0], 2, 0x1F, out int d) || !TryHex(slotFunction[1], 1, 7, out int f))
            return false;
        address = new PciAddress(domain, b, d, f);
        return true;
    }

    public static PciAddress Parse(string text) =>
        TryParse(text, out PciAddress address)
            ? address
            : throw new FormatException($"'{text}' is not a PCI address; expected DDDD:BB:DD.F or BB:DD.F in hexadecimal, e.g. 0000:00:04.0");

    public override string ToString() => $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}";

    private static bool TryHex(string text, int maxDigits, int max, out int value)
    {
        value = 0;
        return text.Length is > 0 && text.Length <= maxDigits
            && int.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            && value <= max;
    }
}
