using Ivshmem.Ring;
using Microsoft.Win32.SafeHandles;

namespace Ivshmem.Peer.Host;

/// <summary>One peer's eventfd for one vector: the handle that owns the fd, and the signal that writes it.</summary>
internal sealed class DoorbellTarget(SafeFileHandle handle, EventFdSignal signal)
{
    /// <summary>Rings while holding a reference on the handle, so a concurrent departure cannot close
    /// the fd under the write; false when it was already closed (the peer left, or this one closed).</summary>
    public bool TryRing()
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            signal.Ring();
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }
}
