namespace Ivshmem.Daemon.Libvirt;

/// <summary>
/// libvirt's default event loop, once per process: registered before the first connection is opened
/// (libvirt delivers domain events and the connection-close callback only through a registered loop),
/// then run on a background thread of its own, where every libvirt callback of this process is called
/// (docs/libvirt.md, "The C API ivshmemd uses"). It runs until the process ends: libvirt offers no way
/// to unregister the loop.
/// </summary>
internal static class LibvirtEventLoop
{
    private static readonly object Gate = new();
    private static Thread? _thread;

    /// <summary>Registers and starts the loop unless that was done already; throws when libvirt is missing.</summary>
    public static void EnsureRunning()
    {
        LibvirtNative.Require();
        lock (Gate)
        {
            if (_thread is not null) return;
            unsafe { LibvirtNative.virSetErrorFunc(IntPtr.Zero, &IgnoreError); }
            if (LibvirtNative.virEventRegisterDefaultImpl() < 0)
                throw LibvirtException.Last("registering libvirt's event loop");
            _thread = new Thread(Run) { IsBackground = true, Name = "libvirt events" };
            _thread.Start();
        }
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static void IgnoreError(IntPtr userData, IntPtr error) { }

    private static void Run()
    {
        while (true)
        {
            // It returns after each batch of events; -1 only when the loop itself is broken, which
            // must not spin a CPU.
            if (LibvirtNative.virEventRunDefaultImpl() < 0) Thread.Sleep(100);
        }
    }
}
