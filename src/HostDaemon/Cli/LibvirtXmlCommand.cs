using System.CommandLine;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary><c>ivshmemd libvirt-xml VM</c>: &lt;shmem&gt; elements for a libvirt domain.</summary>
internal static class LibvirtXmlCommand
{
    public static (Command, ManPage) Create()
    {
        var vm = VmArgument.Create("The VM's name as listed under 'vms' in the configuration; for libvirt this is the domain name (libvirt starts QEMU with -name guest=DOMAIN).");
        var config = ConfigFileOption.Create();
        var region = new Option<string?>("--region")
        {
            Description = "Print only this region's element (one element per file is what 'virsh attach-device' takes).",
            HelpName = "REGION",
        };
        var pciBus = new Option<int?>("--pci-bus")
        {
            Description = "Add an <address> on slot 0 of PCI bus N: the index of an empty pcie-root-port, which a q35 domain needs to take the device while it runs.",
            HelpName = "N",
        };
        pciBus.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } n && n is < 1 or > 255)
                result.AddError($"--pci-bus {n}: a PCI bus number from 1 to 255 (the index of a pcie-root-port controller; bus 0 is the root complex, which takes no hot-plugged device)");
        });
        var command = new Command("libvirt-xml", Page.Summary) { vm, config, region, pciBus };
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            string vmName = parseResult.GetRequiredValue(vm);
            DaemonOptions? options = ConfigFileOption.LoadOrReport(parseResult.GetRequiredValue(config), error, "ivshmemd libvirt-xml");
            if (options is null)
                return ExitCodes.Config;
            IReadOnlyList<RegionOptions> regions = VmArgument.RegionsOrReport(options, vmName, parseResult.GetValue(region), error, "ivshmemd libvirt-xml");
            if (regions.Count == 0)
                return ExitCodes.Failure;
            int? bus = parseResult.GetValue(pciBus);
            if (bus is not null && regions.Count > 1)
            {
                error.WriteLine($"ivshmemd libvirt-xml: error: --pci-bus places one device, but VM '{vmName}' is in {regions.Count} regions ({string.Join(", ", regions.Select(r => r.Name))}); name one with --region");
                return ExitCodes.Usage;
            }
            foreach (var r in regions)
                output.Write(LibvirtShmemXml.For(r, bus));
            return ExitCodes.Ok;
        });
        return (command, Page);
    }

    private static readonly ManPage Page = new()
    {
        Summary = "print libvirt <shmem> elements that attach a domain to its regions",
        Synopsis = ["ivshmemd libvirt-xml VM [--region REGION [--pci-bus N]] [--config FILE]"],
        Description =
        [
            "Prints, for every region whose 'vms' list names VM (or only REGION with --region), a <shmem> element to paste into the <devices> of the domain's XML (virsh edit VM):",
            "  <shmem name='REGION'>\n    <model type='ivshmem-doorbell'/>\n    <server path='SOCKET'/>\n    <msi vectors='N' ioeventfd='on'/>\n  </shmem>",
            "libvirt turns each into '-chardev socket,id=charshmemN,path=SOCKET' and '-device ivshmem-doorbell,...,chardev=charshmemN,vectors=N,ioeventfd=on': a plain client socket without reconnect, as ivshmemd needs. libvirt does not start a server; ivshmemd must be running when the domain starts. There is no <size>: the daemon decides it.",
            "The domain's QEMU runs as libvirt's QEMU user (on Debian user and group libvirt-qemu, with kvm as a supplementary group), which needs write access to the socket: set socket_group (e.g. kvm) and socket_mode 0660 on the region, and list the user or group under 'allow' if you restrict connections. Under AppArmor, libvirt's virt-aa-helper adds the <server path> of each <shmem> to the domain's profile (read-write), so the socket may live anywhere the daemon can create it; 'ivshmemd doctor' checks the rest of the path.",
            "Attaching to a running domain (virsh attach-device --live) takes one element at a time. On a pc (i440fx) machine libvirt finds a free slot itself. On q35 it does not: libvirt puts a <shmem> only on a conventional PCI slot, which a q35 domain rarely has free, and fails with 'No more available PCI slots'. Give the domain an empty pcie-root-port for each device it should take while running, and print the element with --pci-bus set to that port's index. For the guest to map a region larger than the port's default window, the port needs pref64-reserve of at least the region size, which libvirt 9.0 sets only through <qemu:override>; docs/libvirt.md shows both.",
            "libvirt refuses to migrate a domain with a <shmem> device that is not role='master'; peers of a shared region cannot be migrated while attached.",
        ],
        ExitStatus =
        [
            .. RootManPage.StandardExitStatus("the XML is on standard output",
                "no region admits VM; the VMs the configuration does name are on standard error"),
            RootManPage.ConfigExitStatus("the configuration is not valid or cannot be read; every error is on standard error"),
        ],
        Files = [new(DefaultPaths.ConfigFile, "Read when --config is not given.")],
        Examples =
        [
            new("ivshmemd libvirt-xml web", "Print the elements for domain 'web'."),
            new("ivshmemd libvirt-xml web --region web-db > shmem.xml &&\n  virsh attach-device web shmem.xml --config --live",
                "Add region web-db's device to the persistent definition and to the running domain (attach-device takes one element per file, so name the region when the domain is in several)."),
            new("ivshmemd libvirt-xml web --region web-db --pci-bus 3 > shmem.xml &&\n  virsh attach-device web shmem.xml --live",
                "Attach it to the running q35 domain 'web' on its empty pcie-root-port with index 3 (virsh dumpxml web lists the controllers)."),
        ],
        SeeAlso = ["ivshmemd qemu-args --help", "virsh(1)", "docs/libvirt.md", "https://libvirt.org/formatdomain.html#shared-memory-device"],
    };
}
