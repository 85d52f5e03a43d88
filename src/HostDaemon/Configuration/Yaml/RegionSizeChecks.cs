using Ivshmem.Ring;

namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>The size rules of a region: what QEMU, hugetlbfs and the region layout each require.
/// Each check reports its own error and returns null (or nothing) when the value is not usable.</summary>
internal static class RegionSizeChecks
{
    public static long? RegionSize(long? size, ConfigNode at, ConfigErrorSink errors)
    {
        if (size is not { } bytes)
            return null;
        string text = ((ConfigScalar)at).Value;
        if (bytes < ConfigLimits.MinRegionSize)
        {
            errors.Add(at.Start, $"'size' {text} is smaller than {ByteSize.Format(ConfigLimits.MinRegionSize)}; a region needs at least 64 KiB for its header, peer table and rings, e.g. 'size: 64K' or larger");
            return null;
        }
        if (bytes > ConfigLimits.MaxRegionSize)
        {
            errors.Add(at.Start, $"'size' {text} is larger than {ByteSize.Format(ConfigLimits.MaxRegionSize)}, the largest region the layout describes; use at most 1T");
            return null;
        }
        if (!ConfigLimits.IsPowerOfTwo(bytes))
        {
            long below = 1L << (63 - (int)long.LeadingZeroCount(bytes));
            errors.Add(at.Start, $"'size' {text} ({bytes} bytes) is not a power of two, and QEMU aborts on such a BAR size; use {ByteSize.Format(below)} or {ByteSize.Format(below * 2)}");
            return null;
        }
        return bytes;
    }

    public static long? HugePageSize(long? pageSize, long? regionSize, ConfigNode at, ConfigErrorSink errors)
    {
        if (pageSize is not { } bytes)
            return null;
        if (!ConfigLimits.IsPowerOfTwo(bytes) || bytes < 4096)
        {
            errors.Add(at.Start, $"'hugepage_size' {ByteSize.Format(bytes)} is not a huge page size; use the size of the hugetlbfs mount's pages, e.g. 2M or 1G on x86-64");
            return null;
        }
        if (regionSize is { } size && size < bytes)
        {
            errors.Add(at.Start, $"'hugepage_size' {ByteSize.Format(bytes)} is larger than the region ({ByteSize.Format(size)}); hugetlbfs files are whole pages, so make 'size' at least {ByteSize.Format(bytes)} or use smaller pages");
            return null;
        }
        return bytes;
    }

    public static void LayoutFits(long size, int slots, SourceMark at, ConfigErrorSink errors)
    {
        try
        {
            RegionLayout.Compute(size, slots);
        }
        catch (ArgumentException)
        {
            // Find the smallest size that fits, to say what would be valid.
            long fits = size;
            while (fits < ConfigLimits.MaxRegionSize && !Fits(fits, slots))
                fits *= 2;
            errors.Add(at, $"'size' {ByteSize.Format(size)} is too small for {slots} peers: the region holds a ring for every ordered pair of peers ({slots * (slots - 1)} rings) and each needs at least {RegionLayout.MinRingCapacity} bytes; use 'size: {ByteSize.Format(fits)}' or fewer 'max_peers'");
        }
    }

    private static bool Fits(long size, int slots)
    {
        try
        {
            RegionLayout.Compute(size, slots);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
