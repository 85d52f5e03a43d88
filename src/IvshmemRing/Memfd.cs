using Microsoft.Win32.SafeHandles;

namespace Ivshmem.Ring;

/// <summary>Creates the anonymous files that back regions on the host.</summary>
public static class Memfd
{
    /// <summary>
    /// A memfd of <paramref name="size"/> bytes. With <paramref name="sealSize"/> its size is sealed
    /// (no shrink, no grow, no further seals), so no process holding it can truncate the memory
    /// under the others.
    /// </summary>
    public static SafeFileHandle Create(string name, long size, bool sealSize = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        int fd = Interop.MemfdCreate(name, allowSealing: sealSize);
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Interop.Truncate(fd, size);
            if (sealSize) Interop.SealSize(fd);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
