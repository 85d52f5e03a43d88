using System.CommandLine;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Cli;

/// <summary><c>ivshmemd detach VM</c>: takes a running VM's ivshmem devices out (docs/migration.md, "Detach").</summary>
internal static class DetachCommand
{
    public static (Command, ManPage) Create()
    {
        var options = new HotplugOptions("detach");
        return (options.CreateCommand("detach", Page.Summary, (request, parseResult, output, cancellationToken) =>
            RunAsync(options, request, parseResult, output, cancellationToken)), Page);
    }

    private static async Task RunAsync(HotplugOptions options, HotplugOptions.Request request, ParseResult parseResult, TextWriter output, CancellationToken cancellationToken)
    {
        await using IVmHotplug vm = await options.OpenAsync(parseResult, request, cancellationToken);
        foreach (RegionOptions region in request.Regions)
        {
            if (!await vm.HasDeviceAsync(region, cancellationToken))
            {
                await output.WriteLineAsync($"{request.VmName}: region '{region.Name}': not attached (no device {QemuArguments.DeviceId(region)}); nothing done");
                continue;
            }
            var started = System.Diagnostics.Stopwatch.StartNew();
            int heldBefore = (vm as QmpHotplug)?.HeldFdNumbers ?? 0;
            await vm.DetachAsync(region, request.Timeout, cancellationToken);
            int held = ((vm as QmpHotplug)?.HeldFdNumbers ?? 0) - heldBefore;
            await output.WriteLineAsync($"{request.VmName}: region '{region.Name}': detached in {started.Elapsed.TotalSeconds:0.00} s (the guest released the device; QEMU's connection to the region is closed)" +
                (held > 0 ? $"; QEMU holds {held} fd numbers the device freed (QEMU 7.2's stale handlers, docs/migration.md)" : ""));
        }
    }

    private static readonly ManPage Page = new()
    {
        Summary = "take a running VM's ivshmem devices out (hot-unplug)",
        Synopsis = ["ivshmemd detach VM (--qmp SOCKET | --libvirt[=URI]) [--region REGION] [--config FILE] [--timeout SECONDS]"],
        Description =
        [
            "Asks the running VM to let go of the ivshmem-doorbell device of every region whose 'vms' list names VM (or only REGION), waits until the removal is complete, and removes the device's chardev, which closes QEMU's connection to the region: the daemon then tells the other peers that the VM left. Used before a live migration (QEMU refuses to migrate a VM with an ivshmem-doorbell peer device) and to take a VM out of a region without stopping it.",
            "With --qmp, a plain QEMU is driven through its QMP socket: 'device_del' of ivshmem-REGION, the DEVICE_DELETED event, then 'chardev-remove'. device_del only asks the guest: the removal is complete when the guest has released the device (a Linux guest whose device is not in use: well under a second; an application holding it through VFIO must close it first). If that does not happen within --timeout, detach gives up with exit status 75 and the request stays pending in QEMU; run detach again to wait again. With --libvirt the domain's <shmem> element is detached through libvirt.",
            "A region whose device the VM does not have is reported and left alone (exit status 0).",
            "QEMU 7.2 cannot take an ivshmem device again in a process that had one unplugged (it crashes); 'ivshmemd attach' refuses such a process. Attach in the migration's destination, or after restarting the VM.",
        ],
        ExitStatus =
        [
            .. RootManPage.StandardExitStatus("the VM has no device of the regions asked for; each region's outcome is on standard output",
                "an unknown VM or region, QEMU refused a command (its error is quoted), or QEMU's QMP answered something that is not QMP"),
            new(RootManPage.Code(ExitCodes.TemporaryFailure), "EX_TEMPFAIL: the guest did not release a device within --timeout; the removal request stays pending, and the device and its connection stay until the guest lets go."),
            .. HotplugOptions.SharedExitStatus("detach"),
        ],
        Files = [new(DefaultPaths.ConfigFile, "Read when --config is not given.")],
        Examples =
        [
            new("ivshmemd detach web --qmp /run/web.qmp", "Take VM 'web''s devices out before migrating it."),
            new("ivshmemd detach web --qmp /run/web.qmp --timeout 60", "Give the guest a minute to release them."),
            new("ivshmemd detach web --libvirt=qemu+ssh://host/system --region db", "Only region 'db', for a domain on another host."),
        ],
        SeeAlso = ["ivshmemd attach --help", "ivshmemd qemu-args --help", "docs/migration.md"],
    };
}
