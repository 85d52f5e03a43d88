using System.Diagnostics;

namespace Ivshmem.Peer.Guest;

/// <summary>
/// Waits for an ivshmem device to be there and ready: one present already, or one hot-added later,
/// seen through its <c>add@</c> uevent at once rather than by polling sysfs (docs/guest.md, "When
/// the device comes and goes"). Ready means BAR2 has an address: the kernel announces a hot-added
/// device before it assigns its BARs, so a device is only returned once the third line of its
/// <c>resource</c> file is no longer zero. Binding and opening are <see cref="GuestDevice.Open"/>'s
/// (with <see cref="GuestDeviceOptions.Device"/> set to the address returned here).
/// </summary>
public sealed class DeviceArrival : IDisposable
{
    /// <summary>How often a device whose BAR2 has no address yet is looked at again.</summary>
    public static readonly TimeSpan BarCheckInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>A device whose BAR2 is still unassigned after this got no room behind its bridge (QEMU:
    /// the root port needs pref64-reserve of at least the region size); it is given up, with a note.</summary>
    public static readonly TimeSpan BarAssignLimit = TimeSpan.FromSeconds(5);

    /// <summary>Without uevents (or after the kernel dropped some), sysfs is scanned this often.</summary>
    public static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(1);

    private readonly string _sysfsRoot;
    private readonly PciAddress? _wanted;
    private readonly Action<string>? _log;
    private readonly UeventListener? _uevents;
    private readonly Dictionary<PciAddress, long> _pending = [];
    private readonly HashSet<PciAddress> _givenUp = [];
    private readonly HashSet<PciAddress> _announced = [];
    private long _nextScan;
    private PciAddress? _departing;

    private DeviceArrival(string sysfsRoot, PciAddress? wanted, UeventListener? uevents, Action<string>? log, PciAddress? departing)
    {
        _departing = departing;
        _sysfsRoot = sysfsRoot;
        _wanted = wanted;
        _uevents = uevents;
        _log = log;
    }

    /// <summary>
    /// Starts listening (before the first look at sysfs, so that no device can arrive unseen in
    /// between). <paramref name="address"/>: only that PCI address; null: any ivshmem device.
    /// Without a uevent socket (the kernel refused it, or <paramref name="useUevents"/> is false) it
    /// scans sysfs every second instead, and says so. <paramref name="departing"/>: a device this
    /// process just released from an unplug; the kernel removes it a moment later, and until its
    /// directory is gone (or it is added again) it is not taken for a new one.
    /// </summary>
    public static DeviceArrival Start(string sysfsRoot = "/sys", string? address = null, Action<string>? log = null, bool useUevents = true, PciAddress? departing = null)
    {
        UeventListener? uevents = null;
        if (useUevents)
        {
            try { uevents = UeventListener.Open(); }
            catch (IOException e) { log?.Invoke($"no uevents ({e.Message}): looking for a hot-added ivshmem device in sysfs every {RescanInterval.TotalSeconds:0} s instead"); }
        }
        return new DeviceArrival(sysfsRoot, address is null ? null : PciAddress.Parse(address), uevents, log, departing);
    }

    /// <summary>The <see cref="Stopwatch"/> timestamp of the <c>add@</c> uevent of the device
    /// <see cref="Wait"/> returned last, or 0 when it was found in sysfs without one (there already).</summary>
    public long LastAddedAt { get; private set; }

    /// <summary>Leaves the device at <paramref name="address"/> alone (it could not be used) until it
    /// is added again.</summary>
    public void Ignore(PciAddress address)
    {
        _pending.Remove(address);
        _givenUp.Add(address);
    }

    /// <summary>True when BAR2 of <paramref name="device"/> has an address.</summary>
    public static bool IsReady(IvshmemDeviceInfo device) => device.Bar(2).IsAssigned;

    /// <summary>
    /// An ivshmem device that is present with BAR2 assigned, waiting up to <paramref name="timeout"/>
    /// for one; null when none is ready by then. Call it again to keep waiting.
    /// </summary>
    public IvshmemDeviceInfo? Wait(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long now = Stopwatch.GetTimestamp();
            if (now >= _nextScan || _uevents?.Overflowed == true)
            {
                _nextScan = _uevents is null ? now + Ticks(RescanInterval) : long.MaxValue;
                // Without a remove event to say so, the departing device is gone once its directory is.
                if (_departing is { } departing && !Directory.Exists(Path.Combine(_sysfsRoot, "bus", "pci", "devices", departing.ToString())))
                    _departing = null;
                foreach (IvshmemDeviceInfo found in Scan()) Track(found.Address, now);
            }
            if (CheckPending(now) is { } ready) return ready;
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0) return null;
            // Sleep until the next event, the next look at a pending BAR, or the next scan.
            long until = Math.Min(deadline, _nextScan);
            if (_pending.Count > 0) until = Math.Min(until, Stopwatch.GetTimestamp() + Ticks(BarCheckInterval));
            int waitMs = (int)Math.Clamp((until - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency, 0, 1000);
            if (_uevents is null)
            {
                if (waitMs > 0) cancellationToken.WaitHandle.WaitOne(waitMs);
                continue;
            }
            if (_uevents.Receive(waitMs) is { } uevent) Note(uevent, Stopwatch.GetTimestamp());
        }
    }

    private void Note(Uevent uevent, long now)
    {
        if (!uevent.IsIvshmem || uevent.PciSlotName is not { } slot || !PciAddress.TryParse(slot, out PciAddress address)) return;
        if (_wanted is { } wanted && address != wanted) return;
        switch (uevent.Action)
        {
            case "add":
                _log?.Invoke($"an ivshmem device was added at {address} (uevent {uevent})");
                if (_departing == address) _departing = null;
                _givenUp.Remove(address);
                Track(address, now);
                _announced.Add(address);
                break;
            case "remove":
                if (_departing == address) _departing = null;
                _pending.Remove(address);
                _givenUp.Remove(address);
                break;
        }
    }

    private void Track(PciAddress address, long now)
    {
        if (_givenUp.Contains(address)) return;
        if (_departing == address)
        {
            if (Directory.Exists(Path.Combine(_sysfsRoot, "bus", "pci", "devices", address.ToString()))) return;
            _departing = null;
        }
        _pending.TryAdd(address, now);
    }

    /// <summary>The first pending device whose BAR2 has an address now; gives up on those that waited too long.</summary>
    private IvshmemDeviceInfo? CheckPending(long now)
    {
        foreach ((PciAddress address, long since) in _pending.ToList())
        {
            string path = Path.Combine(_sysfsRoot, "bus", "pci", "devices", address.ToString());
            if (!Directory.Exists(path))
            {
                _pending.Remove(address);
                continue;
            }
            IvshmemDeviceInfo device;
            try { device = PciDiscovery.Describe(path, address); }
            catch (FormatException) { continue; }
            if (IsReady(device))
            {
                _pending.Remove(address);
                LastAddedAt = _announced.Remove(address) ? since : 0;
                if (LastAddedAt != 0)
                    _log?.Invoke($"BAR2 of {address} has an address {(now - since) * 1000 / Stopwatch.Frequency} ms after its uevent");
                return device;
            }
            if (now - since > Ticks(BarAssignLimit))
            {
                _pending.Remove(address);
                _givenUp.Add(address);
                _log?.Invoke($"ivshmem device {address}: BAR2 (the shared memory, {Units.Bytes(device.SharedMemorySize)}) got no address within {BarAssignLimit.TotalSeconds:0} s: " +
                    "the bridge it sits behind has no room for it (QEMU: give the pcie-root-port pref64-reserve of at least the region size); waiting for another device");
            }
        }
        return null;
    }

    private List<IvshmemDeviceInfo> Scan()
    {
        try
        {
            return [.. PciDiscovery.FindIvshmemDevices(_sysfsRoot).Where(d => _wanted is not { } wanted || d.Address == wanted)];
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            _log?.Invoke($"cannot look for ivshmem devices in sysfs: {e.Message}");
            return [];
        }
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    public void Dispose() => _uevents?.Dispose();
}
