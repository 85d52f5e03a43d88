namespace Ivshmem.Daemon.Configuration;

/// <summary>Where a region's memory comes from. YAML spelling in brackets.</summary>
public enum RegionBacking
{
    /// <summary>[memfd] An anonymous memfd, sealed against resizing. The default: nothing on disk to
    /// clean up, and the fd can wait in systemd's fd store across a daemon restart.</summary>
    Memfd,

    /// <summary>[hugetlbfs] An unlinked file on a hugetlbfs mount: huge pages for large regions
    /// (fewer TLB misses for guests that stream through the whole region).</summary>
    Hugetlbfs,

    /// <summary>[shm-file] A named file (by default /dev/shm/ivshmemd-&lt;name&gt;), so a debugger or a
    /// host tool can map the region by path. Meant for debugging, not for production.</summary>
    ShmFile,
}
