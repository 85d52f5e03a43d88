using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Ivshmem.Daemon.Libvirt.LibvirtNative;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>
/// One connection to libvirt (virConnectPtr): domain lookups and event subscriptions. libvirt
/// connections may be used from several threads. Callbacks run on <see cref="LibvirtEventLoop"/>'s
/// thread; the handlers given here must return quickly (hand the work to another thread) and never
/// throw into libvirt. The callbacks are static [UnmanagedCallersOnly] functions, so there is no
/// delegate the garbage collector could take away while libvirt holds it; the handler travels as a
/// GCHandle in libvirt's opaque pointer and is freed by libvirt's free callback once libvirt is done
/// with it.
/// </summary>
internal sealed unsafe class LibvirtConnection : IDisposable
{
    private IntPtr _conn;

    private LibvirtConnection(IntPtr conn, string uri)
    {
        _conn = conn;
        Uri = uri;
    }

    public string Uri { get; }

    internal IntPtr Handle => _conn != IntPtr.Zero ? _conn : throw new ObjectDisposedException(nameof(LibvirtConnection));

    /// <summary>Starts the event loop if needed and connects to <paramref name="uri"/> (e.g. qemu:///system).</summary>
    public static LibvirtConnection Open(string uri)
    {
        LibvirtEventLoop.EnsureRunning();
        IntPtr conn = virConnectOpen(uri);
        if (conn == IntPtr.Zero) throw LibvirtException.Last($"cannot connect to libvirt at {uri}");
        var connection = new LibvirtConnection(conn, uri);
        // Keepalive probes let the client notice a libvirtd that hangs, not only one that exits
        // (5 s interval, closed after 3 unanswered): the close callback fires then too.
        _ = virConnectSetKeepAlive(conn, 5, 3);
        return connection;
    }

    /// <summary>The running or defined domain <paramref name="name"/>, or null when libvirt has none by that name.</summary>
    public LibvirtDomain? FindDomain(string name)
    {
        IntPtr dom = virDomainLookupByName(Handle, name);
        if (dom != IntPtr.Zero) return new LibvirtDomain(dom, name, this);
        if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) return null;
        throw LibvirtException.Last($"looking up domain '{name}' on {Uri}");
    }

    /// <summary>Calls <paramref name="onClosed"/> with a reason when libvirt closes this connection
    /// (libvirtd stopped or restarted, keepalive timeout).</summary>
    public void OnClosed(Action<string> onClosed)
    {
        GCHandle handle = GCHandle.Alloc(onClosed);
        if (virConnectRegisterCloseCallback(Handle, &CloseCallback, GCHandle.ToIntPtr(handle), &FreeHandle) < 0)
        {
            handle.Free();
            throw LibvirtException.Last($"registering for the close of the connection to {Uri}");
        }
    }

    /// <summary>Lifecycle events of every domain: (domain name, event, detail) as in libvirt-domain.h.</summary>
    public Subscription OnLifecycle(Action<string, int, int> handler) =>
        Subscribe(IntPtr.Zero, VIR_DOMAIN_EVENT_ID_LIFECYCLE, (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, int, int, IntPtr, int>)&LifecycleCallback, handler, "lifecycle events");

    /// <summary>Device-removed events: (domain name, device alias), for <paramref name="domain"/> or, when null, every domain.</summary>
    public Subscription OnDeviceRemoved(LibvirtDomain? domain, Action<string, string> handler) =>
        Subscribe(domain?.Handle ?? IntPtr.Zero, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, byte*, IntPtr, void>)&DeviceRemovedCallback, handler, "device-removed events");

    private Subscription Subscribe(IntPtr dom, int eventId, IntPtr callback, object handler, string what)
    {
        GCHandle handle = GCHandle.Alloc(handler);
        int id = virConnectDomainEventRegisterAny(Handle, dom, eventId, callback, GCHandle.ToIntPtr(handle), &FreeHandle);
        if (id < 0)
        {
            handle.Free();
            throw LibvirtException.Last($"registering for {what} on {Uri}");
        }
        return new Subscription(this, id);
    }

    public void Dispose()
    {
        IntPtr conn = Interlocked.Exchange(ref _conn, IntPtr.Zero);
        if (conn != IntPtr.Zero) _ = virConnectClose(conn);
    }

    /// <summary>A registered event callback; disposing deregisters it (ignored when the connection is gone).</summary>
    public sealed class Subscription(LibvirtConnection connection, int callbackId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0 && connection._conn != IntPtr.Zero)
                _ = virConnectDomainEventDeregisterAny(connection._conn, callbackId);
        }
    }

    internal static string DomainName(IntPtr dom)
    {
        byte* name = virDomainGetName(dom);
        return name is null ? "?" : Marshal.PtrToStringUTF8((IntPtr)name) ?? "?";
    }

    // The callbacks: an exception must not unwind into libvirt's C frames (that ends the process), so
    // each handler runs inside a catch-all; the handlers themselves only queue work.
    [UnmanagedCallersOnly]
    private static int LifecycleCallback(IntPtr conn, IntPtr dom, int eventType, int detail, IntPtr opaque)
    {
        try { ((Action<string, int, int>)GCHandle.FromIntPtr(opaque).Target!)(DomainName(dom), eventType, detail); }
        catch (Exception e) { CallbackFailed(e); }
        return 0;
    }

    [UnmanagedCallersOnly]
    private static void DeviceRemovedCallback(IntPtr conn, IntPtr dom, byte* alias, IntPtr opaque)
    {
        try { ((Action<string, string>)GCHandle.FromIntPtr(opaque).Target!)(DomainName(dom), Marshal.PtrToStringUTF8((IntPtr)alias) ?? ""); }
        catch (Exception e) { CallbackFailed(e); }
    }

    [UnmanagedCallersOnly]
    private static void CloseCallback(IntPtr conn, int reason, IntPtr opaque)
    {
        try { ((Action<string>)GCHandle.FromIntPtr(opaque).Target!)(CloseReason(reason)); }
        catch (Exception e) { CallbackFailed(e); }
    }

    [UnmanagedCallersOnly]
    private static void FreeHandle(IntPtr opaque) => GCHandle.FromIntPtr(opaque).Free();

    /// <summary>What a handler threw (the follower logs it); libvirt's loop carries on.</summary>
    public static event Action<Exception>? HandlerFailed;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CallbackFailed(Exception e)
    {
        try { HandlerFailed?.Invoke(e); } catch { /* nothing may escape into libvirt */ }
    }

    internal static string CloseReason(int reason) => reason switch
    {
        VIR_CONNECT_CLOSE_REASON_ERROR => "an error on the connection",
        VIR_CONNECT_CLOSE_REASON_EOF => "libvirt closed the connection (libvirtd stopped or restarted)",
        VIR_CONNECT_CLOSE_REASON_KEEPALIVE => "libvirtd stopped answering keepalive probes",
        VIR_CONNECT_CLOSE_REASON_CLIENT => "closed by ivshmemd",
        _ => $"reason {reason}",
    };
}
