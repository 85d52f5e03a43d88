using System.CommandLine;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary>The VM argument of the commands that print a VM's wiring (qemu-args, libvirt-xml), and
/// finding its regions with an unknown VM reported the same way in both.</summary>
internal static class VmArgument
{
    public static Argument<string> Create(string description)
    {
        var vm = new Argument<string>("VM") { Description = description };
        vm.RejectOptionLikeValues("see --help for the options (VM names starting with '-' are not supported)");
        return vm;
    }

    /// <summary>The regions that admit <paramref name="vmName"/>, in file order; when there are none,
    /// says on <paramref name="error"/> which VMs the configuration does name, so a typo is obvious.</summary>
    public static IReadOnlyList<RegionOptions> RegionsOrReport(DaemonOptions options, string vmName, TextWriter error, string commandPath)
    {
        IReadOnlyList<RegionOptions> regions = options.RegionsForVm(vmName);
        if (regions.Count > 0)
            return regions;
        var known = options.AllVmNames();
        string knownText = known.Count == 0
            ? "it names no VMs (only host users)"
            : $"VMs it names: {string.Join(", ", known)}";
        error.WriteLine($"{commandPath}: error: no region in {options.SourcePath} admits VM '{vmName}'; {knownText}");
        return regions;
    }

    /// <summary>As <see cref="RegionsOrReport(DaemonOptions, string, TextWriter, string)"/>, narrowed to
    /// the region <paramref name="only"/> when one is given (--region); an empty list after saying why.</summary>
    public static IReadOnlyList<RegionOptions> RegionsOrReport(DaemonOptions options, string vmName, string? only, TextWriter error, string commandPath)
    {
        IReadOnlyList<RegionOptions> regions = RegionsOrReport(options, vmName, error, commandPath);
        if (only is null || regions.Count == 0)
            return regions;
        List<RegionOptions> chosen = regions.Where(r => r.Name == only).ToList();
        if (chosen.Count == 0)
            error.WriteLine($"{commandPath}: error: VM '{vmName}' is in no region '{only}'; its regions: {string.Join(", ", regions.Select(r => r.Name))}");
        return chosen;
    }
}
