using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Vm;

/// <summary>
/// How a running VM's ivshmem device is put in and taken out: through QEMU's QMP socket for a plain
/// QEMU (<c>QmpHotplug</c>), through libvirt for a libvirt domain (<c>LibvirtHotplug</c>). One instance
/// talks to one VM. <c>ivshmemd attach</c>/<c>detach</c> and the daemon's libvirt lifecycle follower
/// use it; the rules they follow (refuse a process that already lost a device, wait for the removal
/// to complete) live with them, not here. Failures are <see cref="VmHotplugException"/>s that say
/// what went wrong in words an operator can act on.
/// </summary>
internal interface IVmHotplug : IAsyncDisposable
{
    /// <summary>What this talks to, for messages: "QMP socket /run/vm-a.qmp", "libvirt domain vm-a on qemu:///system".</summary>
    string Description { get; }

    /// <summary>The process id of the VM's QEMU (to refuse a re-attach into a process that already
    /// lost an ivshmem device: QEMU 7.2 crashes then).</summary>
    Task<int> QemuPidAsync(CancellationToken cancellationToken);

    /// <summary>Whether the VM has the region's device now.</summary>
    Task<bool> HasDeviceAsync(RegionOptions region, CancellationToken cancellationToken);

    /// <summary>Adds the region's device (and whatever it needs, such as QEMU's chardev) to the running
    /// VM. Returns when the VM has it; QEMU has then connected to the region's socket.</summary>
    Task AttachAsync(RegionOptions region, CancellationToken cancellationToken);

    /// <summary>Asks the VM to let go of the region's device and waits, at most <paramref name="timeout"/>,
    /// until the removal is complete (the guest released it) and QEMU's connection to the region is closed.</summary>
    Task DetachAsync(RegionOptions region, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>A hot-plug request that could not be carried out; <see cref="ExitCode"/> is what the command returns.</summary>
internal sealed class VmHotplugException(string message, int exitCode = ExitCodes.Failure, Exception? inner = null)
    : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
