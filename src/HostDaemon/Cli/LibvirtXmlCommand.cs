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
        var command = new Command("libvirt-xml", Page.Summary) { vm, config };
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            string vmName = parseResult.GetRequiredValue(vm);
            DaemonOptions? options = ConfigFileOption.LoadOrReport(parseResult.GetRequiredValue(config), error, "ivshmemd libvirt-xml");
            if (options is null)
                return ExitCodes.Config;
            IReadOnlyList<RegionOptions> regions = VmArgument.RegionsOrReport(options, vmName, error, "ivshmemd libvirt-xml");
            if (regions.Count == 0)
                return ExitCodes.Failure;
            foreach (var region in regions)
                output.Write(LibvirtShmemXml.For(region));
            return ExitCodes.Ok;
        });
        return (command, Page);
    }

    private static readonly ManPage Page = new()
    {
        Summary = "print libvirt <shmem> elements that attach a domain to its regions",
        Synopsis = ["ivshmemd libvirt-xml VM [--config FILE]"],
        Description =
        [
            "Prints, for every region whose 'vms' list names VM, a <shmem> element to paste into the <devices> of the domain's XML (virsh edit VM):",
            "  <shmem name='REGION'>\n    <model type='ivshmem-doorbell'/>\n    <server path='SOCKET'/>\n    <msi vectors='N' ioeventfd='on'/>\n  </shmem>",
            "libvirt turns each into '-chardev socket,id=charshmemN,path=SOCKET' and '-device ivshmem-doorbell,...,chardev=charshmemN,vectors=N,ioeventfd=on': a plain client socket without reconnect, as ivshmemd needs. libvirt does not start a server; ivshmemd must be running when the domain starts. There is no <size>: the daemon decides it.",
            "The domain's QEMU runs as libvirt's QEMU user (libvirt-qemu:kvm on Debian), which needs write access to the socket: set socket_group (e.g. kvm) and socket_mode 0660 on the region, and list the user or group under 'allow' if you restrict connections. Under AppArmor, virt-aa-helper only allows /var/lib/libvirt/shmem-NAME-sock and /dev/shm/NAME for shmem devices; either put the region's socket there (socket: /var/lib/libvirt/shmem-REGION-sock, and add that directory to the service's ReadWritePaths=) or allow the socket in /etc/apparmor.d/local/abstractions/libvirt-qemu.",
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
            new("ivshmemd libvirt-xml web > shmem.xml &&\n  virsh attach-device web shmem.xml --config",
                "Add a single region's device to the persistent definition (attach-device takes one element per file)."),
        ],
        SeeAlso = ["ivshmemd qemu-args --help", "virsh(1)", "https://libvirt.org/formatdomain.html#shared-memory-device"],
    };
}
