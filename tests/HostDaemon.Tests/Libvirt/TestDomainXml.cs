using System.Text;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>
/// Tiny software-emulated domains for the libvirt tests: q35 with ACPI (hot-plug needs it), one empty
/// pcie-root-port (index 1) whose 64-bit prefetchable window is reserved through &lt;qemu:override&gt;
/// (docs/libvirt.md, "Hot-plug on q35"), no disk, no network, no USB. Without a guest image the
/// firmware just waits (enough for attach); with one, the test guest boots and runs
/// <paramref name="guestCommand"/> with its console in a file.
/// </summary>
internal static class TestDomainXml
{
    public static string For(string name, string consoleDirectory, GuestImage? guest = null, string guestCommand = "sleep 100000", int rootPorts = 1)
    {
        var os = new StringBuilder("<type arch='x86_64' machine='q35'>hvm</type>");
        if (guest is not null)
        {
            string cmd = Convert.ToBase64String(Encoding.UTF8.GetBytes(guestCommand));
            os.Append($"<kernel>{guest.Kernel}</kernel><initrd>{guest.Initrd}</initrd>")
              .Append($"<cmdline>console=ttyS0 panic=-1 quiet no_timer_check ivshmem.cmd={cmd}</cmdline>");
        }
        var ports = new StringBuilder();
        var overrides = new StringBuilder();
        for (int i = 1; i <= rootPorts; i++)
        {
            ports.Append($"<controller type='pci' model='pcie-root-port' index='{i}'/>");
            overrides.Append($"<qemu:device alias='pci.{i}'><qemu:frontend><qemu:property name='pref64-reserve' type='unsigned' value='268435456'/></qemu:frontend></qemu:device>");
        }
        return $"""
            <domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
              <name>{name}</name>
              <memory unit='MiB'>{(guest is null ? 64 : 256)}</memory>
              <vcpu>1</vcpu>
              <os>{os}</os>
              <features><acpi/><apic/></features>
              <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                <controller type='pci' model='pcie-root'/>
                {ports}
                <controller type='usb' model='none'/>
                <serial type='file'><source path='{Path.Combine(consoleDirectory, name + ".console")}'/></serial>
                <memballoon model='none'/>
              </devices>
              <qemu:override>{overrides}</qemu:override>
            </domain>
            """;
    }
}
