using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>Placeholder until the libvirt backend lands: <see cref="Open"/> says it is not there yet.</summary>
internal sealed class LibvirtHotplug : IVmHotplug
{
    private LibvirtHotplug() { }

    /// <summary>Connects to libvirt at <paramref name="uri"/> and looks the domain up by name.</summary>
    public static LibvirtHotplug Open(string uri, string domainName) =>
        throw new VmHotplugException($"libvirt domain {domainName} on {uri}: this build has no libvirt support yet");

    public string Description => "libvirt";
    public Task<int> QemuPidAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<bool> HasDeviceAsync(RegionOptions region, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task AttachAsync(RegionOptions region, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task DetachAsync(RegionOptions region, TimeSpan timeout, CancellationToken cancellationToken) => throw new NotSupportedException();
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
