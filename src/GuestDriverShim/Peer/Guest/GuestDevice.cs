using System.Diagnostics;
using Ivshmem.Ring;

namespace Ivshmem.Peer.Guest;

/// <summary>
/// An ivshmem device seen from inside a guest, as an <see cref="IvshmemEndpoint"/>: BAR2 is the
/// region, IVPosition (BAR0+8) the own id, a write of (peer id &lt;&lt; 16 | vector) to BAR0+12 rings a
/// peer, and MSI-X vectors delivered to eventfds through VFIO wake this side (or, through sysfs, nothing
/// does and this side polls). No kernel module beyond the stock vfio-pci.
/// </summary>
public sealed class GuestDevice : IvshmemEndpoint
{
    private readonly IDeviceRegisters _registers;
    private readonly BarMapping _memory;
    private readonly VfioDevice? _vfio;
    private readonly EventFdWaiter? _waiter;
    private readonly IRingWaiter _interrupts;
    private readonly DeviceRequestWatch _watch;
    private readonly Action<string>? _log;
    private bool _disposed;

    private GuestDevice(IvshmemDeviceInfo info, GuestAccess access, VfioDevice? vfio, IDeviceRegisters registers, BarMapping memory, EventFdWaiter? waiter, int vectors,
        DeviceRequestWatch watch, Action<string>? log)
    {
        _watch = watch;
        _log = log;
        Info = info;
        Access = access;
        _vfio = vfio;
        _registers = registers;
        _memory = memory;
        _waiter = waiter;
        _interrupts = waiter is null ? PollingWaiter.Instance : waiter;
        VectorCount = vectors;
        OwnId = (int)(registers.Read32(IvshmemRegisters.IvPositionOffset) & 0xFFFF);
        Region = Region.Attach(memory.Memory);
    }

    /// <summary>What sysfs said about the device when it was opened.</summary>
    public IvshmemDeviceInfo Info { get; }

    /// <summary>VFIO or sysfs (never Auto).</summary>
    public GuestAccess Access { get; }

    /// <summary>How BAR2 is mapped, and what cache mode the kernel says it got.</summary>
    public SharedMemoryMappingInfo Mapping => _memory.Info;

    /// <summary>How BAR0 is reached.</summary>
    public string RegisterAccess => _registers.Description;

    /// <summary>The VFIO IOMMU backend, or null in sysfs mode.</summary>
    public VfioIommuType? Iommu => _vfio?.Iommu;

    /// <summary>True when doorbells wake this side (MSI-X through VFIO); false when it polls.</summary>
    public bool HasInterrupts => _waiter is not null;

    /// <summary>MSI-X interrupts taken so far (after eventfd coalescing); 0 without interrupts.</summary>
    public long InterruptCount => _waiter?.Count ?? 0;

    public override Region Region { get; }
    public override int OwnId { get; }
    public override int VectorCount { get; }
    public override IRingWaiter Interrupts => _interrupts;

    /// <summary>Cancelled when the device is being unplugged: stop touching the region and dispose
    /// this object promptly, since the unplug cannot complete before (docs/guest.md, "When the device
    /// comes and goes").</summary>
    public override CancellationToken GoingAway => _watch.Token;

    public override string? GoingAwayReason => _watch.Reason;

    /// <summary>How long the release took, from the unplug request to the last fd closed; null
    /// until this device was disposed after a request.</summary>
    public TimeSpan? ReleasedAfter { get; private set; }

    public override IRingSignal Doorbell(int peerId, int vector) =>
        new DoorbellSignal(_registers, IvshmemRegisters.DoorbellValue(peerId, vector));

    /// <summary>Finds and opens the device as <paramref name="options"/> say.</summary>
    public static GuestDevice Open(GuestDeviceOptions? options = null)
    {
        options ??= new GuestDeviceOptions();
        IvshmemDeviceInfo info = PciDiscovery.Select(PciDiscovery.FindIvshmemDevices(options.SysfsRoot), options.Device);
        if (!info.Bar(2).IsPresent)
            throw new IvshmemDeviceException($"{info.Address} has no BAR2 (shared memory) in {info.SysfsPath}/resource");

        GuestAccess access = options.Access;
        if (access == GuestAccess.Auto)
            access = info.IsBoundToVfio || options.Bind ? GuestAccess.Vfio : GuestAccess.Sysfs;
        if (access == GuestAccess.Vfio && options.Bind)
            info = DriverBinder.BindToVfio(info, options.SysfsRoot, options.Log);
        if (access == GuestAccess.Sysfs && info.Driver is { } driver && driver != "uio_pci_generic")
            options.Log?.Invoke($"note: {info.Address} is bound to {driver}; sysfs mapping may be refused while a driver holds the BARs");
        return access == GuestAccess.Vfio ? OpenVfio(info, options) : OpenSysfs(info, options);
    }

    /// <summary>
    /// VFIO: bus mastering on, then MSI-X wired to eventfds, and only then the region is attached.
    /// QEMU drops a doorbell that arrives while MSI-X is off (docs/device.md, "Interrupts are MSI-X
    /// only"); the ring only rings a side that announced it sleeps, and nothing here can announce
    /// before this constructor has returned, so no wake-up is lost.
    /// </summary>
    private static GuestDevice OpenVfio(IvshmemDeviceInfo info, GuestDeviceOptions options)
    {
        VfioDevice? vfio = null;
        EventFdWaiter? waiter = null;
        IDeviceRegisters? registers = null;
        BarMapping? memory = null;
        DeviceRequestWatch? watch = null;
        int[]? vectorFds = null;
        bool msixOn = false;
        try
        {
            vfio = VfioDevice.Open(info, options.DevRoot);
            vfio.EnableBusMaster();
            int vectors = vfio.MsixCount();
            if (vectors > 0)
            {
                int[] fds = vfio.EnableMsix(Math.Min(vectors, IvshmemRegisters.MaxVectors));
                vectorFds = fds;
                msixOn = true;
                try { waiter = new EventFdWaiter(fds, ownsFds: true); }
                catch
                {
                    TryDisableMsix(vfio);
                    msixOn = false;
                    foreach (int fd in fds) Interop.Close(fd);
                    throw;
                }
            }
            else
            {
                options.Log?.Invoke($"{info.Address} has no MSI-X (ivshmem-plain?): no interrupts, this side polls");
            }
            registers = OpenVfioRegisters(vfio);
            memory = MapVfioMemory(vfio, info, options);
            int requestFd = vfio.EnableRequestIrq();
            if (requestFd < 0)
                options.Log?.Invoke($"vfio-pci offers no device request interrupt for {info.Address}: a hot-unplug waits until this program exits");
            // The waiters sleep on the vectors' eventfds: a write to the control vector's wakes them to look.
            int[]? wakeFds = vectorFds;
            watch = DeviceRequestWatch.Start(info, requestFd, () => { if (wakeFds is { Length: > 0 }) Interop.EventFdSignal(wakeFds[0]); }, options.Log);
            return new GuestDevice(info, GuestAccess.Vfio, vfio, registers, memory, waiter, Math.Max(vectors, 1), watch, options.Log);
        }
        catch
        {
            watch?.Dispose();
            if (msixOn) TryDisableMsix(vfio!);
            waiter?.Dispose();
            memory?.Dispose();
            registers?.Dispose();
            vfio?.Dispose();
            throw;
        }
    }

    private static unsafe IDeviceRegisters OpenVfioRegisters(VfioDevice vfio)
    {
        VfioRegion bar0 = vfio.Region(Interop.VFIO_PCI_BAR0_REGION_INDEX);
        if (bar0.Size < IvshmemRegisters.Bar0Size)
            throw new IvshmemDeviceException($"BAR0 is {bar0.Size} bytes; an ivshmem device has {IvshmemRegisters.Bar0Size}");
        // vfio-pci offers mmap for a BAR smaller than a page only when the BAR is page-aligned.
        if (bar0.CanMap)
        {
            try
            {
                const long page = 4096;
                byte* p = Interop.MapShared(vfio.Fd, page, bar0.Offset, "VFIO region 0");
                return new MappedRegisters(p, page, 0, "mmap of the VFIO region");
            }
            catch (IOException)
            {
                // Fall through: pread/pwrite always works.
            }
        }
        return new VfioRegisters(vfio.Fd, bar0.Offset);
    }

    private static BarMapping MapVfioMemory(VfioDevice vfio, IvshmemDeviceInfo info, GuestDeviceOptions options)
    {
        PciBar bar2 = info.Bar(2);
        if (options.Mapping == SharedMemoryMapping.DevMem)
            return MapDevMemOrExplain(info, options);
        VfioRegion region = vfio.Region(Interop.VFIO_PCI_BAR2_REGION_INDEX);
        if (!region.CanMap)
            throw new IvshmemDeviceException($"vfio-pci does not allow mapping BAR2 of {info.Address} (region flags say no mmap)");
        return BarMapping.MapVfioRegion(vfio.Fd, region, options.SysfsRoot, bar2.Start);
    }

    /// <summary>
    /// sysfs: memory decoding on, BAR0 through resource0, BAR2 write-back through /dev/mem where the
    /// kernel allows it (else uncached through resource2). No interrupts: the waiter polls.
    /// </summary>
    private static unsafe GuestDevice OpenSysfs(IvshmemDeviceInfo info, GuestDeviceOptions options)
    {
        EnableDecoding(info);
        PciBar bar0 = info.Bar(0);
        if (bar0.Size < IvshmemRegisters.Bar0Size)
            throw new IvshmemDeviceException($"BAR0 of {info.Address} is {bar0.Size} bytes; an ivshmem device has {IvshmemRegisters.Bar0Size}");
        string resource0 = Path.Combine(info.SysfsPath, "resource0");
        IDeviceRegisters? registers = null;
        BarMapping? memory = null;
        try
        {
            const long page = 4096;
            int fd = OpenResource(resource0);
            try
            {
                // The mapping starts at the page holding BAR0; BAR0 itself may start inside it.
                byte* p = Interop.MapShared(fd, page, 0, resource0);
                registers = new MappedRegisters(p, page, (int)(bar0.Start & (page - 1)), "mmap of " + resource0);
            }
            finally
            {
                Interop.Close(fd);
            }
            memory = MapSysfsMemory(info, options);
            int vectors = info.Kind == IvshmemDeviceKind.Doorbell ? info.MsixVectors ?? 1 : 1;
            // Nothing here holds the device for the kernel: an unplug goes ahead and the watch sees it go.
            var watch = DeviceRequestWatch.Start(info, -1, () => { }, options.Log);
            return new GuestDevice(info, GuestAccess.Sysfs, null, registers, memory, null, vectors, watch, options.Log);
        }
        catch
        {
            memory?.Dispose();
            registers?.Dispose();
            throw;
        }
    }

    private static BarMapping MapSysfsMemory(IvshmemDeviceInfo info, GuestDeviceOptions options)
    {
        PciBar bar2 = info.Bar(2);
        if (options.Mapping == SharedMemoryMapping.DevMem) return MapDevMemOrExplain(info, options);
        if (options.Mapping == SharedMemoryMapping.Auto)
        {
            try { return BarMapping.MapDevMem(options.DevRoot, options.SysfsRoot, bar2.Start, bar2.Size); }
            catch (IOException e) { options.Log?.Invoke($"no write-back mapping through /dev/mem ({e.Message}); using resource2 (uncached)"); }
        }
        string resource2 = Path.Combine(info.SysfsPath, "resource2");
        try { return BarMapping.MapSysfsResource(resource2, options.SysfsRoot, bar2.Start, bar2.Size); }
        catch (IOException e) { throw Explain(e, resource2); }
    }

    private static BarMapping MapDevMemOrExplain(IvshmemDeviceInfo info, GuestDeviceOptions options)
    {
        PciBar bar2 = info.Bar(2);
        try { return BarMapping.MapDevMem(options.DevRoot, options.SysfsRoot, bar2.Start, bar2.Size); }
        catch (IOException e)
        {
            throw new IvshmemDeviceException($"cannot map BAR2 of {info.Address} through /dev/mem: {e.Message}. The kernel refuses /dev/mem under lockdown, and for a BAR a driver has claimed (CONFIG_IO_STRICT_DEVMEM)", e);
        }
    }

    private static int OpenResource(string path)
    {
        try { return Interop.OpenReadWrite(path, sync: true); }
        catch (IOException e) { throw Explain(e, path); }
    }

    private static IvshmemDeviceException Explain(IOException e, string path) => e.HResult switch
    {
        Interop.EACCES or Interop.EPERM => new IvshmemDeviceException($"{e.Message}: sysfs resource files are for root only (or the kernel is locked down)", e),
        Interop.EINVAL => new IvshmemDeviceException($"{e.Message}: the kernel refused to map {path}; a driver may hold the BAR (unbind it, or use VFIO)", e),
        _ => new IvshmemDeviceException(e.Message, e),
    };

    /// <summary>Memory decoding must be on for BAR accesses; firmware usually turns it on, and with no
    /// driver bound the sysfs <c>enable</c> file does (pci_enable_device).</summary>
    private static void EnableDecoding(IvshmemDeviceInfo info)
    {
        string enable = Path.Combine(info.SysfsPath, "enable");
        if (PciDiscovery.ReadText(enable)?.Trim() != "0") return;
        try { File.WriteAllText(enable, "1"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IvshmemDeviceException($"{info.Address} is disabled and cannot be enabled ({e.Message}); as root: echo 1 > {enable}", e);
        }
    }

    private static void TryDisableMsix(VfioDevice vfio)
    {
        try { vfio.DisableMsix(); }
        catch (IOException) { /* closing the device fd tears the vectors down anyway */ }
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed || !disposing) return;
        _disposed = true;
        // The watch first: it may write to the control vector's eventfd, which the waiter closes.
        _watch.Dispose();
        // Vectors next, so VFIO lets go of the eventfds before the waiter closes them.
        if (_waiter is not null && _vfio is not null) TryDisableMsix(_vfio);
        _waiter?.Dispose();
        // Every mapping, then device, group and container: a mapping alone keeps an unplug waiting
        // (docs/guest.md, "When the device comes and goes").
        _memory.Dispose();
        _registers.Dispose();
        _vfio?.Dispose();
        if (_watch.RequestedAt != 0)
        {
            ReleasedAfter = Stopwatch.GetElapsedTime(_watch.RequestedAt);
            _log?.Invoke($"released {Info.Address} {ReleasedAfter.Value.TotalMilliseconds:0} ms after the unplug request");
        }
    }

    /// <summary>Rings one vector of one peer with a single 32-bit Doorbell write.</summary>
    private sealed class DoorbellSignal(IDeviceRegisters registers, uint value) : IRingSignal
    {
        public void Ring() => registers.Write32(IvshmemRegisters.DoorbellOffset, value);
    }
}
