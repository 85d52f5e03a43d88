using System.Runtime.InteropServices;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>
/// libvirt's C API (libvirt.so.0, Debian package libvirt0), the calls ivshmemd makes and nothing more
/// (docs/libvirt.md, "The C API ivshmemd uses"). There is no maintained .NET binding, so these are
/// P/Invokes. The library is loaded on first use, never at start: <see cref="Require"/> says
/// "libvirt0 is not installed" when it is missing, and a daemon without libvirt in its configuration
/// never asks. Every call returns -1 or null on error, with the reason in
/// <see cref="virGetLastErrorMessage"/> (per thread). Constants are proven against libvirt's headers
/// by LibvirtHeaderTests.
/// </summary>
internal static unsafe partial class LibvirtNative
{
    public const string Library = "libvirt.so.0";

    private static readonly Lazy<string?> LoadError = new(() =>
        NativeLibrary.TryLoad(Library, out _) ? null
            : $"libvirt0 is not installed ({Library} could not be loaded); install it with 'apt-get install libvirt0', or leave libvirt out of the configuration");

    /// <summary>Throws <see cref="LibvirtException"/> with an operator's remedy when libvirt.so.0 cannot be loaded.</summary>
    public static void Require()
    {
        if (LoadError.Value is { } error) throw new LibvirtException(error);
    }

    // virDomainModificationImpact (libvirt-domain.h)
    public const uint VIR_DOMAIN_AFFECT_LIVE = 1;

    // virDomainEventID
    public const int VIR_DOMAIN_EVENT_ID_LIFECYCLE = 0;
    public const int VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED = 15;

    // virDomainEventType and the details ivshmemd acts on
    public const int VIR_DOMAIN_EVENT_STARTED = 2;
    public const int VIR_DOMAIN_EVENT_RESUMED = 4;
    public const int VIR_DOMAIN_EVENT_STOPPED = 5;
    public const int VIR_DOMAIN_EVENT_STARTED_BOOTED = 0;
    public const int VIR_DOMAIN_EVENT_STARTED_MIGRATED = 1;
    public const int VIR_DOMAIN_EVENT_RESUMED_MIGRATED = 1;

    // virDomainState and the reason of a paused domain that waits for an incoming migration
    public const int VIR_DOMAIN_PAUSED = 3;
    public const int VIR_DOMAIN_PAUSED_MIGRATION = 2;

    // virConnectCloseReason (libvirt-host.h)
    public const int VIR_CONNECT_CLOSE_REASON_ERROR = 0;
    public const int VIR_CONNECT_CLOSE_REASON_EOF = 1;
    public const int VIR_CONNECT_CLOSE_REASON_KEEPALIVE = 2;
    public const int VIR_CONNECT_CLOSE_REASON_CLIENT = 3;

    // virErrorNumber: the lookup of a domain that does not exist
    public const int VIR_ERR_NO_DOMAIN = 42;

    /// <summary>The last error of this thread, as one line, or "unknown error".</summary>
    public static string LastError()
    {
        byte* message = virGetLastErrorMessage();
        return message is null ? "unknown error" : Marshal.PtrToStringUTF8((IntPtr)message) ?? "unknown error";
    }

    [LibraryImport(Library)]
    public static partial byte* virGetLastErrorMessage();

    [LibraryImport(Library)]
    public static partial int virGetLastErrorCode();

    /// <summary>Replaces libvirt's default error handler, which prints every error to standard error
    /// ("libvirt: QEMU Driver error : ..."); ivshmemd reads the error itself and says it once, in context.</summary>
    [LibraryImport(Library)]
    public static partial void virSetErrorFunc(IntPtr userData, delegate* unmanaged<IntPtr, IntPtr, void> handler);

    // Event loop (libvirt-event.h): register before the first connection is opened, then run it on a
    // thread of its own; every callback is called on that thread.
    [LibraryImport(Library)]
    public static partial int virEventRegisterDefaultImpl();

    [LibraryImport(Library)]
    public static partial int virEventRunDefaultImpl();

    // Connections (libvirt-host.h)
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr virConnectOpen(string uri);

    [LibraryImport(Library)]
    public static partial int virConnectClose(IntPtr conn);

    [LibraryImport(Library)]
    public static partial int virConnectSetKeepAlive(IntPtr conn, int interval, uint count);

    [LibraryImport(Library)]
    public static partial int virConnectRegisterCloseCallback(IntPtr conn, delegate* unmanaged<IntPtr, int, IntPtr, void> callback,
        IntPtr opaque, delegate* unmanaged<IntPtr, void> freeCallback);

    [LibraryImport(Library)]
    public static partial int virConnectUnregisterCloseCallback(IntPtr conn, delegate* unmanaged<IntPtr, int, IntPtr, void> callback);

    [LibraryImport(Library)]
    public static partial int virConnectDomainEventRegisterAny(IntPtr conn, IntPtr dom, int eventId, IntPtr callback,
        IntPtr opaque, delegate* unmanaged<IntPtr, void> freeCallback);

    [LibraryImport(Library)]
    public static partial int virConnectDomainEventDeregisterAny(IntPtr conn, int callbackId);

    // Domains (libvirt-domain.h)
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr virDomainLookupByName(IntPtr conn, string name);

    [LibraryImport(Library)]
    public static partial int virDomainFree(IntPtr dom);

    [LibraryImport(Library)]
    public static partial byte* virDomainGetName(IntPtr dom);

    [LibraryImport(Library)]
    public static partial int virDomainIsActive(IntPtr dom);

    [LibraryImport(Library)]
    public static partial int virDomainGetState(IntPtr dom, out int state, out int reason, uint flags);

    /// <summary>Flags 0: the live definition of a running domain. The string is the caller's to free().</summary>
    [LibraryImport(Library)]
    public static partial byte* virDomainGetXMLDesc(IntPtr dom, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainAttachDeviceFlags(IntPtr dom, string xml, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int virDomainDetachDeviceFlags(IntPtr dom, string xml, uint flags);
}
