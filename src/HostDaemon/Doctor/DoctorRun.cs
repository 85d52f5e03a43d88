using Ivshmem.Daemon.Cli;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Control;

namespace Ivshmem.Daemon.Doctor;

/// <summary>
/// <c>ivshmemd doctor</c>: every check in order, one line each, and the exit status
/// (<see cref="ExitCodes.Ok"/> when nothing failed, warnings included; <see cref="ExitCodes.Failure"/>
/// when a check failed). The configuration is loaded with the daemon's loader; when it is not valid,
/// the checks that need it are left out and the config check says so.
/// </summary>
internal static class DoctorRun
{
    public static async Task<int> RunAsync(string configPath, string? vmName, HostView host, TextWriter output, CancellationToken cancellationToken = default)
    {
        var results = new List<CheckResult>();
        void Emit(CheckResult result)
        {
            results.Add(result);
            output.WriteLine(result.ToString());
        }
        void EmitAll(IEnumerable<CheckResult> many)
        {
            foreach (CheckResult result in many) Emit(result);
        }

        EmitAll(QemuChecks.Run(host));

        ConfigLoadResult loaded = ConfigLoader.Load(configPath);
        if (!loaded.Succeeded)
        {
            string first = loaded.Errors[0].ToString();
            int more = loaded.Errors.Count - 1;
            Emit(CheckResult.Fail("config", $"{first}{(more > 0 ? $" (and {more} more)" : "")}; the checks that need the configuration were skipped",
                $"see every error with 'ivshmemd check-config {configPath}'"));
            return Finish(results, output);
        }
        DaemonOptions options = loaded.Options;
        IReadOnlyList<RegionOptions> regions = options.Regions;
        Emit(CheckResult.Pass("config", $"{configPath} is valid: {options.Regions.Count} region{(options.Regions.Count == 1 ? "" : "s")}"));
        if (vmName is not null)
        {
            regions = options.RegionsForVm(vmName);
            if (regions.Count == 0)
            {
                var known = options.AllVmNames();
                Emit(CheckResult.Fail("vm", $"no region of {configPath} admits VM '{vmName}'; {(known.Count == 0 ? "it names no VMs" : "VMs it names: " + string.Join(", ", known))}",
                    $"add '{vmName}' to the 'vms' of a region, or give the VM's name as the configuration spells it"));
                return Finish(results, output);
            }
            Emit(CheckResult.Pass("vm", $"VM '{vmName}' is in region {string.Join(", ", regions.Select(r => $"'{r.Name}'"))}; only these are checked"));
        }

        LibvirtQemuConf? libvirt = LibvirtQemuConf.Read(host);
        (StatusReport? running, CheckResult daemon) = await DaemonCheck.RunAsync(options, regions, cancellationToken);
        var served = (running?.Regions.Select(r => r.Name) ?? []).ToHashSet(StringComparer.Ordinal);

        EmitAll(AccountChecks.Users(options, regions));
        EmitAll(AccountChecks.Groups(options, regions));
        EmitAll(SocketChecks.Directories(options, regions));
        EmitAll(SocketChecks.Access(options, regions, libvirt));
        EmitAll(SocketChecks.Path(regions, libvirt));
        Emit(SecurityChecks.AppArmor(host, libvirt, regions));
        Emit(SecurityChecks.SeLinux(host, libvirt, regions));
        EmitAll(MemoryChecks.HugePages(host, regions, served));
        EmitAll(MemoryChecks.ShmSpace(regions, served));
        Emit(MemoryChecks.Memory(host, regions, served));
        Emit(MemoryChecks.MemLock(host, regions));
        Emit(daemon);
        return Finish(results, output);
    }

    private static int Finish(List<CheckResult> results, TextWriter output)
    {
        int failed = results.Count(r => r.Verdict == Verdict.Fail);
        int warned = results.Count(r => r.Verdict == Verdict.Warn);
        output.WriteLine($"ivshmemd doctor: {results.Count} checks: {results.Count - failed - warned} passed, {warned} warning{(warned == 1 ? "" : "s")}, {failed} failed");
        return failed > 0 ? ExitCodes.Failure : ExitCodes.Ok;
    }
}
