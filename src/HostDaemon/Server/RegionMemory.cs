using Ivshmem.Daemon.Configuration;
using Ivshmem.Ring;
using Microsoft.Win32.SafeHandles;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// The memory of one region: the fd every peer gets (protocol message "-1 + fd"), the daemon's own
/// mapping of it, and the formatted <see cref="Ring.Region"/> in it. QEMU maps the whole file as
/// BAR2, so the file is exactly the configured size, a power of two (docs/protocol.md, "How QEMU 7.2
/// reads the stream").
/// </summary>
internal sealed class RegionMemory : IDisposable
{
    private RegionMemory(SafeFileHandle fd, MappedMemory mapping, Region region, string description, bool restored)
    {
        Handle = fd;
        Mapping = mapping;
        Region = region;
        Description = description;
        Restored = restored;
    }

    public SafeFileHandle Handle { get; }
    public int Fd => (int)Handle.DangerousGetHandle();
    public MappedMemory Mapping { get; }
    public Region Region { get; }

    /// <summary>What backs it, for logs: "memfd", "unnamed file on /dev/hugepages", "/dev/shm/x".</summary>
    public string Description { get; }

    /// <summary>True when it came back from the fd store (attached, not formatted).</summary>
    public bool Restored { get; }

    /// <summary>Creates and formats the memory for <paramref name="options"/>.</summary>
    public static RegionMemory Create(RegionOptions options)
    {
        (SafeFileHandle fd, string description) = options.Backing switch
        {
            RegionBacking.Memfd => (Memfd.Create($"ivshmemd-{options.Name}", options.SizeBytes, sealSize: true), "memfd"),
            RegionBacking.Hugetlbfs => CreateHugetlbfsFile(options),
            RegionBacking.ShmFile => CreateShmFile(options),
            _ => throw new ArgumentOutOfRangeException(nameof(options), $"unknown backing {options.Backing}"),
        };
        try
        {
            long size = Interop.FileStat((int)fd.DangerousGetHandle()).Size;
            if (size != options.SizeBytes)
                throw new IOException($"its {description} is {size} bytes after sizing it to {options.SizeBytes}");
            MappedMemory mapping;
            // hugetlbfs takes its pages at mmap, not at ftruncate: an empty pool shows here.
            try { mapping = MappedMemory.MapFile((int)fd.DangerousGetHandle()); }
            catch (IOException e) when (options.Backing == RegionBacking.Hugetlbfs && Interop.ErrnoOf(e) is Interop.ENOMEM or Interop.ENOSPC)
            {
                throw new IOException($"{e.Message}; {HugePagesHint}", e);
            }
            try
            {
                Region region = Region.Format(mapping.Memory, options.MaxPeers);
                return new RegionMemory(fd, mapping, region, description, restored: false);
            }
            catch
            {
                mapping.Dispose();
                throw;
            }
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes over memory that came back from the fd store: never formatted, because running VMs still
    /// use it, and never judged by its contents, which any peer can write. Its size is the file's
    /// (fstat), not the header's; its format id comes from the daemon's private ledger, and the header is rewritten from
    /// those (<see cref="Ring.Region.Resume"/>), so a scribbled header does not cost the region.
    /// Throws <see cref="InvalidDataException"/> when it does not fit <paramref name="options"/> any
    /// more (the caller then starts afresh); ownership of <paramref name="fd"/> passes only on success.
    /// </summary>
    public static RegionMemory Restore(SafeFileHandle fd, RegionOptions options, ulong formatId)
    {
        long size = Interop.FileStat((int)fd.DangerousGetHandle()).Size;
        if (size != options.SizeBytes)
            throw new InvalidDataException($"the stored memory is {size} bytes but the configuration says {options.SizeBytes}");
        var mapping = MappedMemory.MapFile((int)fd.DangerousGetHandle());
        try
        {
            Region region;
            try { region = Region.Resume(mapping.Memory, options.MaxPeers, formatId); }
            catch (ArgumentException e) { throw new InvalidDataException($"the stored memory cannot hold this region: {e.Message}", e); }
            string description = options.Backing switch
            {
                RegionBacking.Memfd => "memfd",
                RegionBacking.Hugetlbfs => $"unnamed file on {options.HugetlbfsMount}",
                _ => options.ShmFilePath ?? "file",
            };
            return new RegionMemory(fd, mapping, region, description + " (restored)", restored: true);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    private const string HugePagesHint = "are enough huge pages free (HugePages_Free in /proc/meminfo; reserve them with vm.nr_hugepages), does the mount's size= limit leave room, and is the size a multiple of the mount's page size? ('ivshmemd doctor' checks the first two)";

    /// <summary>An unnamed file on the hugetlbfs mount (as the reference server's -m DIR does), so the
    /// huge pages go back to the pool when the last peer unmaps them.</summary>
    private static (SafeFileHandle, string) CreateHugetlbfsFile(RegionOptions options)
    {
        string mount = options.HugetlbfsMount ?? DefaultPaths.HugetlbfsMount;
        var fd = new SafeFileHandle(Interop.OpenTempFile(mount), ownsHandle: true);
        try
        {
            // Anywhere else the file would silently be ordinary memory; say so instead.
            if (Interop.FileSystemType((int)fd.DangerousGetHandle(), mount) != Interop.HUGETLBFS_MAGIC)
                throw new IOException($"{mount} is not a hugetlbfs mount (mount -t hugetlbfs, or use /dev/hugepages)");
            // hugetlbfs only accepts sizes that are multiples of its page size; the configuration
            // checked that, so a failure here means no free huge pages (ENOMEM/ENOSPC): say so.
            try { Interop.Truncate((int)fd.DangerousGetHandle(), options.SizeBytes, $"the hugetlbfs file for region '{options.Name}'"); }
            catch (IOException e) when (Interop.ErrnoOf(e) is Interop.ENOMEM or Interop.ENOSPC or Interop.EINVAL)
            {
                throw new IOException($"{e.Message}; {HugePagesHint}", e);
            }
            return (fd, $"unnamed file on {mount}");
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>The named debugging file: re-sized from zero, so a leftover from an earlier run never
    /// passes for a live region.</summary>
    private static (SafeFileHandle, string) CreateShmFile(RegionOptions options)
    {
        string path = options.ShmFilePath ?? DefaultPaths.ShmFilePrefix + options.Name;
        UnixFileMode mode = options.SocketMode & (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        var fd = new SafeFileHandle(Interop.OpenOrCreateFile(path, mode | UnixFileMode.UserRead | UnixFileMode.UserWrite), ownsHandle: true);
        try
        {
            int raw = (int)fd.DangerousGetHandle();
            if ((Interop.FileStat(raw).Mode & Interop.S_IFMT_) != Interop.S_IFREG_)
                throw new IOException($"{path} is not a regular file");
            Interop.Truncate(raw, 0, path);
            Interop.Truncate(raw, options.SizeBytes, path);
            Interop.FileChmod(raw, mode | UnixFileMode.UserRead | UnixFileMode.UserWrite, path);
            if (options.SocketGroup is { } group)
                Interop.FileChown(raw, uint.MaxValue, UserDatabase.GroupId(group), path);
            return (fd, path);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Mapping.Dispose();
        Handle.Dispose();
    }
}
