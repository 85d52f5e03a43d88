using static Ivshmem.Daemon.Libvirt.LibvirtNative;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>libvirt's lifecycle events in words for the log, and which of them bring a domain to this
/// host (docs/libvirt.md, "Following domains").</summary>
internal static class LifecycleWords
{
    /// <summary>Started (booted or migrated here) or resumed after an incoming migration.</summary>
    public static bool BringsDomainHere(int type, int detail) =>
        (type == VIR_DOMAIN_EVENT_STARTED && detail is VIR_DOMAIN_EVENT_STARTED_BOOTED or VIR_DOMAIN_EVENT_STARTED_MIGRATED)
        || (type == VIR_DOMAIN_EVENT_RESUMED && detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED);

    // Event types 0..8 and their details, in the order of libvirt-domain.h's enums.
    private static readonly string[] Types = ["defined", "undefined", "started", "suspended", "resumed", "stopped", "shut down", "PM-suspended", "crashed"];
    private static readonly string[][] Details =
    [
        ["added", "updated", "renamed", "from snapshot"],
        ["removed", "renamed"],
        ["booted", "migrated", "restored", "from snapshot", "woken up"],
        ["paused", "migrated", "on I/O error", "by watchdog", "restored", "from snapshot", "on API error", "post-copy", "post-copy failed"],
        ["unpaused", "migrated", "from snapshot", "post-copy", "post-copy failed"],
        ["shut down", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot"],
        ["finished", "by guest", "by host"],
        ["to memory", "to disk"],
        ["panicked", "crashloaded"],
    ];

    public static string Describe(int type, int detail)
    {
        string what = type >= 0 && type < Types.Length ? Types[type] : $"event {type}";
        string? how = type >= 0 && type < Details.Length && detail >= 0 && detail < Details[type].Length ? Details[type][detail] : null;
        return how is null || how == what ? what : $"{what}: {how}";
    }
}
