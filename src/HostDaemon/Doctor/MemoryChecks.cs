using System.Globalization;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Logging;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Doctor;

/// <summary>
/// Checks "hugetlbfs-mount", "hugepages", "shm-space", "memory" and "memlock": there is memory for
/// the regions where their backing takes it from. Regions the running daemon already serves
/// (<paramref name="served"/> in each method) hold their memory already and are not counted again.
/// </summary>
internal static class MemoryChecks
{
    /// <summary>"hugetlbfs-mount" and "hugepages" for the hugetlbfs regions.</summary>
    public static IEnumerable<CheckResult> HugePages(HostView host, IReadOnlyList<RegionOptions> regions, ISet<string> served)
    {
        var hugetlbfs = regions.Where(r => r.Backing == RegionBacking.Hugetlbfs).ToList();
        if (hugetlbfs.Count == 0)
        {
            yield return CheckResult.Pass("hugepages", "no region uses hugetlbfs backing");
            yield break;
        }
        long? defaultPageSize = MemInfo(host, "Hugepagesize");
        var mounts = HugetlbfsMounts(host);
        var needed = new Dictionary<long, (long Bytes, List<string> Regions)>();
        foreach (RegionOptions region in hugetlbfs)
        {
            string mount = region.HugetlbfsMount ?? DefaultPaths.HugetlbfsMount;
            if (!mounts.TryGetValue(mount, out long? mountPageSize))
            {
                yield return CheckResult.Fail("hugetlbfs-mount", $"region '{region.Name}': {mount} is not a hugetlbfs mount",
                    mount == DefaultPaths.HugetlbfsMount
                        ? "systemctl start dev-hugepages.mount (or: mount -t hugetlbfs hugetlbfs /dev/hugepages)"
                        : $"mount -t hugetlbfs{(region.HugePageSizeBytes is { } s ? " -o pagesize=" + ByteSize.Describe(s).Replace(" ", "").Replace("iB", "") : "")} hugetlbfs {mount}, or set hugetlbfs_mount to a hugetlbfs mount");
                continue;
            }
            long? pageSize = mountPageSize ?? defaultPageSize;
            if (region.HugePageSizeBytes is { } wanted && pageSize is { } actual && wanted != actual)
            {
                yield return CheckResult.Fail("hugetlbfs-mount",
                    $"region '{region.Name}': hugepage_size is {ByteSize.Describe(wanted)} but {mount} has {ByteSize.Describe(actual)} pages",
                    $"mount a hugetlbfs with -o pagesize={wanted / 1024 / 1024}M and name it in hugetlbfs_mount, or set hugepage_size: {actual / 1024 / 1024}M");
                continue;
            }
            yield return CheckResult.Pass("hugetlbfs-mount", $"region '{region.Name}': {mount} is a hugetlbfs mount{(pageSize is { } p ? $" with {ByteSize.Describe(p)} pages" : "")}");
            if (pageSize is not { } size || served.Contains(region.Name)) continue;
            needed.TryAdd(size, (0, []));
            needed[size] = (needed[size].Bytes + region.SizeBytes, [.. needed[size].Regions, region.Name]);
        }
        foreach ((long pageSize, (long bytes, List<string> names)) in needed)
        {
            string pool = $"/sys/kernel/mm/hugepages/hugepages-{pageSize / 1024}kB";
            long pages = (bytes + pageSize - 1) / pageSize;
            string regionList = string.Join(", ", names.Select(n => $"'{n}'"));
            if (!long.TryParse(host.ReadText(pool + "/free_hugepages")?.Trim(), CultureInfo.InvariantCulture, out long free))
            {
                yield return CheckResult.Fail("hugepages", $"this kernel has no {ByteSize.Describe(pageSize)} huge page pool ({pool}) for region {regionList}",
                    $"boot with hugepagesz={pageSize / 1024 / 1024}M hugepages={pages} on the kernel command line, or use another hugepage_size");
                continue;
            }
            long.TryParse(host.ReadText(pool + "/nr_hugepages")?.Trim(), CultureInfo.InvariantCulture, out long total);
            yield return free >= pages
                ? CheckResult.Pass("hugepages", $"{free} free {ByteSize.Describe(pageSize)} huge pages; region {regionList} need{(names.Count == 1 ? "s" : "")} {pages}")
                : CheckResult.Fail("hugepages", $"{free} free {ByteSize.Describe(pageSize)} huge pages, but region {regionList} need{(names.Count == 1 ? "s" : "")} {pages}: 'ivshmemd run' fails to size the file",
                    $"echo {total + pages - free} > {pool}/nr_hugepages (to keep it: vm.nr_hugepages in /etc/sysctl.d/, for {ByteSize.Describe(pageSize)} pages)");
        }
    }

    /// <summary>"shm-space": the filesystem that holds each shm-file (/dev/shm by default) has room
    /// for it; a tmpfs is sized at mount time (by default half of RAM).</summary>
    public static IEnumerable<CheckResult> ShmSpace(IReadOnlyList<RegionOptions> regions, ISet<string> served)
    {
        var files = regions.Where(r => r.Backing == RegionBacking.ShmFile && !served.Contains(r.Name)).ToList();
        if (files.Count == 0)
        {
            yield return CheckResult.Pass("shm-space", regions.Any(r => r.Backing == RegionBacking.ShmFile)
                ? "the running daemon already holds the shm-file regions" : "no region uses shm-file backing");
            yield break;
        }
        foreach (var directory in files.GroupBy(r => System.IO.Path.GetDirectoryName(r.ShmFilePath ?? DefaultPaths.ShmFilePrefix + r.Name)!))
        {
            string names = string.Join(", ", directory.Select(r => $"'{r.Name}'"));
            if (Interop.PathOwnership(directory.Key) is not { } st || (st.Mode & Interop.S_IFMT_) != Interop.S_IFDIR_)
            {
                yield return CheckResult.Fail("shm-space", $"{directory.Key} (shm_file of region {names}) is not a directory; 'ivshmemd run' cannot create the file",
                    $"create it (mkdir -p {directory.Key}) or set shm_file to a file on /dev/shm");
                continue;
            }
            long needed = directory.Sum(r => r.SizeBytes);
            // The daemon re-sizes an existing file from zero: its blocks count as free.
            long reusable = directory.Sum(r => new FileInfo(r.ShmFilePath ?? DefaultPaths.ShmFilePrefix + r.Name) is { Exists: true } f ? f.Length : 0);
            long available = (Interop.FileSystemSpace(directory.Key)?.AvailableBytes ?? 0) + reusable;
            yield return available >= needed
                ? CheckResult.Pass("shm-space", $"{directory.Key} has {Approximately(available)} free; region {names} need{(directory.Count() == 1 ? "s" : "")} {ByteSize.Describe(needed)}")
                : CheckResult.Fail("shm-space", $"{directory.Key} has {Approximately(available)} free, but region {names} need{(directory.Count() == 1 ? "s" : "")} {ByteSize.Describe(needed)}; guests get SIGBUS when the file cannot grow",
                    directory.Key == "/dev/shm"
                        ? $"mount -o remount,size={(needed + (64L << 20)) >> 20}M /dev/shm (keep it in /etc/fstab), or use memfd backing"
                        : $"free space on that filesystem, put shm_file on a larger tmpfs, or use memfd backing");
        }
    }

    /// <summary>"memory": memfd and shm-file regions come from ordinary memory (hugetlbfs from its
    /// reserved pool); compared with MemAvailable from /proc/meminfo. More than half is a warning:
    /// the guests need memory too.</summary>
    public static CheckResult Memory(HostView host, IReadOnlyList<RegionOptions> regions, ISet<string> served)
    {
        long total = regions.Where(r => r.Backing != RegionBacking.Hugetlbfs && !served.Contains(r.Name)).Sum(r => r.SizeBytes);
        if (total == 0)
            return CheckResult.Pass("memory", "no region to create takes ordinary memory (memfd, shm-file)");
        if (MemInfo(host, "MemAvailable") is not { } available)
            return CheckResult.Warn("memory", $"cannot read MemAvailable from /proc/meminfo; the memfd and shm-file regions need {ByteSize.Describe(total)}",
                "check free memory by hand (free -h)");
        if (total > available)
            return CheckResult.Fail("memory", $"the memfd and shm-file regions need {ByteSize.Describe(total)}, more than the {Approximately(available)} available (MemAvailable); their pages are allocated as guests touch them, and the OOM killer ends whoever comes last",
                "make the regions smaller, add memory, or move large regions to hugetlbfs with reserved pages");
        if (total > available / 2)
            return CheckResult.Warn("memory", $"the memfd and shm-file regions need {ByteSize.Describe(total)}, more than half of the {Approximately(available)} available (MemAvailable)",
                "make sure the guests still fit; consider smaller regions");
        return CheckResult.Pass("memory", $"the memfd and shm-file regions need {ByteSize.Describe(total)} of {Approximately(available)} available");
    }

    /// <summary>
    /// "memlock": the daemon locks no memory, but a QEMU that locks all of its memory
    /// (-overcommit mem-lock=on, or -realtime mlock=on) locks its ivshmem BARs too, and fails to
    /// start or attach when RLIMIT_MEMLOCK is below its RAM plus its regions. Looked at where it
    /// matters: every running QEMU with mem-lock whose -name is a VM of these regions.
    /// </summary>
    public static CheckResult MemLock(HostView host, IReadOnlyList<RegionOptions> regions)
    {
        var problems = new List<string>();
        int locking = 0;
        string proc = host.Path("/proc");
        IEnumerable<string> pids;
        try { pids = Directory.EnumerateDirectories(proc).Select(System.IO.Path.GetFileName).Where(n => n is { Length: > 0 } && n.All(char.IsAsciiDigit))!; }
        catch (IOException) { pids = []; }
        foreach (string pid in pids)
        {
            string? cmdline = host.ReadText($"/proc/{pid}/cmdline");
            if (cmdline is null || !cmdline.Contains("mem-lock=on", StringComparison.Ordinal) && !cmdline.Contains("mlock=on", StringComparison.Ordinal))
                continue;
            string[] argv = cmdline.Split('\0', StringSplitOptions.RemoveEmptyEntries);
            if (QemuProcessName.FromArgv(argv) is not { } vm) continue;
            long regionBytes = regions.Where(r => r.Vms.Contains(vm, StringComparer.Ordinal)).Sum(r => r.SizeBytes);
            if (regionBytes == 0) continue;
            locking++;
            if (LockedLimit(host.ReadText($"/proc/{pid}/limits")) is { } limit && limit < regionBytes)
                problems.Add($"QEMU of VM '{vm}' (pid {pid}) locks its memory but may lock only {ByteSize.Describe(limit)}, less than its regions alone ({ByteSize.Describe(regionBytes)})");
        }
        if (problems.Count > 0)
            return CheckResult.Warn("memlock", string.Join("; ", problems) + "; attaching a region fails",
                "raise RLIMIT_MEMLOCK for that QEMU (libvirt sets it for <memoryBacking><locked/> domains; by hand: ulimit -l, or LimitMEMLOCK= in its unit) to its RAM plus its regions");
        return CheckResult.Pass("memlock", locking == 0
            ? "no running QEMU of these VMs locks its memory (-overcommit mem-lock=on); the daemon itself locks nothing"
            : $"the {Plural.Of(locking, "QEMU")} of these VMs that lock their memory may lock their regions too");
    }

    /// <summary>"21.9 GiB": a measured amount, which is rarely a whole number of units.</summary>
    internal static string Approximately(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1) { value /= 1024; unit++; }
        return unit == 0 ? $"{bytes} bytes" : value.ToString(value >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>The soft "Max locked memory" of a /proc/PID/limits text; long.MaxValue for unlimited.</summary>
    internal static long? LockedLimit(string? limits)
    {
        string? line = limits?.Split('\n').FirstOrDefault(l => l.StartsWith("Max locked memory", StringComparison.Ordinal));
        if (line is null) return null;
        string soft = line["Max locked memory".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        return soft == "unlimited" ? long.MaxValue : long.TryParse(soft, CultureInfo.InvariantCulture, out long v) ? v : null;
    }

    /// <summary>A "Key:   123 kB" value of /proc/meminfo in bytes.</summary>
    internal static long? MemInfo(HostView host, string key)
    {
        string? line = host.ReadText("/proc/meminfo")?.Split('\n').FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        if (line is null) return null;
        string[] parts = line[(key.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || !long.TryParse(parts[0], CultureInfo.InvariantCulture, out long value)) return null;
        return parts.Length > 1 && parts[1] == "kB" ? value * 1024 : value;
    }

    /// <summary>hugetlbfs mount points from /proc/mounts, with their pagesize= option (null when the
    /// mount uses the default size).</summary>
    private static Dictionary<string, long?> HugetlbfsMounts(HostView host)
    {
        var mounts = new Dictionary<string, long?>(StringComparer.Ordinal);
        foreach (string line in (host.ReadText("/proc/mounts") ?? "").Split('\n'))
        {
            string[] f = line.Split(' ');
            if (f.Length < 4 || f[2] != "hugetlbfs") continue;
            string? pageSize = f[3].Split(',').FirstOrDefault(o => o.StartsWith("pagesize=", StringComparison.Ordinal))?["pagesize=".Length..];
            mounts[f[1].Replace("\\040", " ")] = pageSize is null ? null : ParseSize(pageSize);
        }
        return mounts;
    }

    private static long? ParseSize(string text)
    {
        if (text.Length == 0) return null;
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = unit == 1 ? text : text[..^1];
        return long.TryParse(digits, CultureInfo.InvariantCulture, out long n) ? n * unit : null;
    }
}
