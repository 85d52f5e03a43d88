using System.Diagnostics;

namespace Ivshmem.Peer.Guest;

/// <summary>
/// Binds a device to vfio-pci the way the kernel documents it (Documentation/driver-api/vfio.rst):
/// driver_override names the driver, the current driver lets go, drivers_probe binds. driver_override
/// binds exactly this device, unlike new_id, which would claim every 1af4:1110.
/// </summary>
public static class DriverBinder
{
    public const string VfioPci = "vfio-pci";

    /// <summary>
    /// Binds <paramref name="device"/> to vfio-pci unless it already is, loading the modules when the
    /// driver is missing; returns the device as sysfs describes it afterwards. Needs root.
    /// </summary>
    public static IvshmemDeviceInfo BindToVfio(IvshmemDeviceInfo device, string sysfsRoot = "/sys", Action<string>? log = null)
    {
        if (device.IsBoundToVfio) return device;
        if (device.IommuGroup is null && !NoIommuEnabled(sysfsRoot))
            throw new IvshmemDeviceException(
                $"{device.Address} has no IOMMU group, so vfio-pci cannot take it: give the VM an IOMMU (QEMU: -M q35 -device intel-iommu,caching-mode=on; guest kernel: intel_iommu=on iommu=pt), " +
                "or use a kernel built with CONFIG_VFIO_NOIOMMU and load vfio with enable_unsafe_noiommu_mode=1, or do without interrupts (--access sysfs)");

        string drivers = Path.Combine(sysfsRoot, "bus", "pci", "drivers");
        if (!Directory.Exists(Path.Combine(drivers, VfioPci)))
        {
            // busybox modprobe ignores the softdep that pulls in the IOMMU backend: name it.
            foreach (string module in new[] { "vfio_iommu_type1", "vfio-pci" }) TryModprobe(module, log);
            if (!Directory.Exists(Path.Combine(drivers, VfioPci)))
                throw new IvshmemDeviceException($"the vfio-pci driver is not loaded ({Path.Combine(drivers, VfioPci)} is missing) and modprobe could not load it: run 'modprobe vfio_iommu_type1; modprobe vfio-pci' as root");
        }

        string bdf = device.Address.ToString();
        Write(Path.Combine(device.SysfsPath, "driver_override"), VfioPci, "set driver_override of " + bdf);
        if (device.Driver is { } old)
        {
            log?.Invoke($"unbinding {bdf} from {old}");
            Write(Path.Combine(device.SysfsPath, "driver", "unbind"), bdf, $"unbind {bdf} from {old}");
        }
        log?.Invoke($"binding {bdf} to {VfioPci}");
        try { Write(Path.Combine(sysfsRoot, "bus", "pci", "drivers_probe"), bdf, "drivers_probe " + bdf); }
        catch (IvshmemDeviceException) { /* judged by the result below: the kernel reports probe failures oddly */ }

        IvshmemDeviceInfo after = PciDiscovery.Describe(device.SysfsPath, device.Address);
        if (!after.IsBoundToVfio)
            throw new IvshmemDeviceException($"vfio-pci did not take {bdf} (its driver is now {after.Driver ?? "none"}); the kernel log (dmesg) says why");
        return after;
    }

    private static bool NoIommuEnabled(string sysfsRoot) =>
        PciDiscovery.ReadText(Path.Combine(sysfsRoot, "module", "vfio", "parameters", "enable_unsafe_noiommu_mode"))?.Trim() is "Y" or "1";

    private static void Write(string path, string value, string what)
    {
        try { File.WriteAllText(path, value); }
        catch (UnauthorizedAccessException e) { throw new IvshmemDeviceException($"cannot {what}: {e.Message} (binding drivers needs root)", e); }
        catch (IOException e) { throw new IvshmemDeviceException($"cannot {what}: {e.Message}", e); }
    }

    private static void TryModprobe(string module, Action<string>? log)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("modprobe", [module]) { RedirectStandardError = true, UseShellExecute = false });
            if (process is null) return;
            string error = process.StandardError.ReadToEnd();
            if (!process.WaitForExit(30_000)) { process.Kill(); return; }
            if (process.ExitCode != 0) log?.Invoke($"modprobe {module} failed: {error.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            log?.Invoke($"cannot run modprobe: {e.Message}");
        }
    }
}
