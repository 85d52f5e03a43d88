namespace Ivshmem.Daemon.Configuration;

/// <summary>The <c>libvirt</c> section: which libvirt the daemon talks to, and whether it follows the
/// domains' lifecycle, attaching a paired domain's devices when its partner runs here too
/// (docs/libvirt.md, "Following domains").</summary>
/// <param name="Uri">libvirt connection URI, e.g. qemu:///system.</param>
/// <param name="Follow">Whether the daemon follows domain lifecycle events.</param>
public sealed record LibvirtOptions(string Uri, bool Follow)
{
    public const string DefaultUri = "qemu:///system";
}
