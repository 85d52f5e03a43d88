namespace Ivshmem.Ring;

/// <summary>
/// Owns a shared mapping (of a memfd, a file, or anonymous shared memory) and unmaps it on dispose.
/// Hand <see cref="Memory"/> to <see cref="Region"/>; keep this object alive as long as any ring
/// uses the memory.
/// </summary>
public sealed unsafe class MappedMemory : IDisposable
{
    private byte* _pointer;
    private readonly long _length;

    private MappedMemory(byte* pointer, long length)
    {
        _pointer = pointer;
        _length = length;
    }

    public long Length => _length;

    public SharedMemory Memory
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return new SharedMemory(_pointer, _length);
        }
    }

    /// <summary>Maps the whole of <paramref name="fd"/> (its size from fstat). The fd may be closed
    /// afterwards; the mapping stays valid.</summary>
    public static MappedMemory MapFile(int fd)
    {
        long size = Interop.FileSize(fd);
        if (size <= 0) throw new IOException($"cannot map fd {fd}: it is empty");
        return new MappedMemory(Interop.MapShared(fd, size), size);
    }

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> from <paramref name="offset"/>
    /// (a PCI BAR through a VFIO device fd, a sysfs resource file).</summary>
    public static MappedMemory Map(int fd, long length, long offset = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return new MappedMemory(Interop.MapShared(fd, length, offset), length);
    }

    /// <summary>Anonymous shared memory: for one process, or inherited across fork.</summary>
    public static MappedMemory Anonymous(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return new MappedMemory(Interop.MapAnonymousShared(length), length);
    }

    public void Dispose()
    {
        byte* p = _pointer;
        _pointer = null;
        if (p != null) Interop.Unmap(p, _length);
    }
}
