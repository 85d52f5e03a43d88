using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem;

/// <summary>Mappings of device memory: BARs through a VFIO device fd, sysfs resourceN, /dev/mem.</summary>
internal static unsafe partial class Interop
{
    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/>
    /// shared and read-write. The cache mode is the file's business (vfio-pci and resourceN: uncached;
    /// resourceN_wc: write-combining; /dev/mem without O_SYNC: write-back unless PAT says otherwise).</summary>
    internal static byte* MapShared(int fd, long length, long offset, string what)
    {
        void* p = mmap(null, (size_t)(ulong)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
        if (p == MAP_FAILED) throw ErrorFor(LastErrno(), $"mmap of {length} bytes at offset 0x{offset:X} of {what}");
        return (byte*)p;
    }

    internal static void Unmap(byte* pointer, long length)
    {
        if (pointer != null) munmap(pointer, (size_t)(ulong)length);
    }
}
