using System.Runtime.InteropServices;
using static Ivshmem.Daemon.Libvirt.LibvirtNative;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>One domain (virDomainPtr) of a <see cref="LibvirtConnection"/>; each call is one blocking libvirt call.</summary>
internal sealed unsafe class LibvirtDomain : IDisposable
{
    private IntPtr _dom;

    internal LibvirtDomain(IntPtr dom, string name, LibvirtConnection connection)
    {
        _dom = dom;
        Name = name;
        Connection = connection;
    }

    public string Name { get; }
    public LibvirtConnection Connection { get; }

    internal IntPtr Handle => _dom != IntPtr.Zero ? _dom : throw new ObjectDisposedException(nameof(LibvirtDomain));

    private string Describe => $"domain '{Name}' on {Connection.Uri}";

    /// <summary>Whether the domain runs (its QEMU process exists; paused counts as running).</summary>
    public bool IsActive()
    {
        int active = virDomainIsActive(Handle);
        if (active < 0) throw LibvirtException.Last($"asking whether {Describe} runs");
        return active == 1;
    }

    /// <summary>Whether the domain is paused because a migration into it is still under way: its device
    /// set must stay as the source's until it completes.</summary>
    public bool IsMigratingIn()
    {
        if (virDomainGetState(Handle, out int state, out int reason, 0) < 0)
            throw LibvirtException.Last($"reading the state of {Describe}");
        return state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_MIGRATION;
    }

    /// <summary>The live definition (what the running QEMU has now, with aliases and addresses).</summary>
    public string LiveXml()
    {
        byte* xml = virDomainGetXMLDesc(Handle, 0);
        if (xml is null) throw LibvirtException.Last($"reading the definition of {Describe}");
        try { return Marshal.PtrToStringUTF8((IntPtr)xml) ?? ""; }
        finally { NativeMemory.Free(xml); }
    }

    /// <summary>virDomainAttachDeviceFlags(LIVE): adds the device to the running domain only, not to its persistent definition.</summary>
    public void AttachLive(string deviceXml)
    {
        if (virDomainAttachDeviceFlags(Handle, deviceXml, VIR_DOMAIN_AFFECT_LIVE) < 0)
            throw LibvirtException.Last($"attaching a device to {Describe}");
    }

    /// <summary>virDomainDetachDeviceFlags(LIVE): asks for the removal; it may complete later (docs/libvirt.md, "Detach").</summary>
    public void DetachLive(string deviceXml)
    {
        if (virDomainDetachDeviceFlags(Handle, deviceXml, VIR_DOMAIN_AFFECT_LIVE) < 0)
            throw LibvirtException.Last($"detaching a device from {Describe}");
    }

    public void Dispose()
    {
        IntPtr dom = Interlocked.Exchange(ref _dom, IntPtr.Zero);
        if (dom != IntPtr.Zero) _ = virDomainFree(dom);
    }
}
