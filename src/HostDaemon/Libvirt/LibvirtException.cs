namespace Ivshmem.Daemon.Libvirt;

/// <summary>A libvirt call failed (the message has libvirt's own reason), or libvirt is not installed.</summary>
internal sealed class LibvirtException(string message, int errorCode = 0) : Exception(message)
{
    /// <summary>libvirt's virErrorNumber (0 when the failure is not libvirt's own, e.g. the library is missing).</summary>
    public int ErrorCode { get; } = errorCode;

    /// <summary>The failure of the libvirt call this thread just made: "<paramref name="what"/>: libvirt's message".</summary>
    public static LibvirtException Last(string what) =>
        new($"{what}: {LibvirtNative.LastError()}", LibvirtNative.virGetLastErrorCode());
}
