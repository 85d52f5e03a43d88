using Ivshmem.Daemon.Libvirt;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Daemon.Vm;
using Xunit.Abstractions;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>
/// Hot-plug through a real libvirtd into running domains (QEMU 7.2 under software emulation, firmware
/// only: attaching needs no guest OS): what 'ivshmemd libvirt-xml' prints, and LibvirtHotplug.
/// </summary>
public sealed class LibvirtHotplugTests(ITestOutputHelper output)
{
    [LibvirtFact]
    public async Task LibvirtXmlOutputAttachesLiveOnAnEmptyRootPortAndQemuJoinsTheRegion()
    {
        using var rig = new LibvirtRig(output);
        rig.Libvirtd.Create(rig.A, TestDomainXml.For(rig.A, rig.Libvirtd.LogDirectory));
        string config = WriteConfig(rig);

        CliResult plain = await CliRunner.RunAsync("libvirt-xml", rig.A, "--config", config, "--region", "lv");
        CliResult placed = await CliRunner.RunAsync("libvirt-xml", rig.A, "--config", config, "--region", "lv", "--pci-bus", "1");
        Assert.True(placed.ExitCode == 0, placed.ToString());
        string plainFile = rig.Libvirtd.Directory + "/plain.xml", placedFile = rig.Libvirtd.Directory + "/placed.xml";
        File.WriteAllText(plainFile, plain.Output);
        File.WriteAllText(placedFile, placed.Output);

        // q35: libvirt looks for a conventional PCI slot for a <shmem> and finds none (docs/libvirt.md).
        var (plainExit, plainSaid) = rig.Libvirtd.Virsh("attach-device", rig.A, plainFile, "--live");
        Assert.NotEqual(0, plainExit);
        Assert.Contains("No more available PCI slots", plainSaid);
        Assert.Empty(rig.PeersOf("lv"));

        rig.Libvirtd.MustVirsh("attach-device", rig.A, placedFile, "--live");

        Assert.Equal([rig.A], rig.PeersOf("lv"));
        Assert.Contains("<shmem name='lv'>", rig.Libvirtd.Virsh("dumpxml", rig.A).Output);
    }

    [LibvirtFact]
    public async Task HotplugAttachesOnceAndKnowsTheDeviceAndTheQemuPid()
    {
        using var rig = new LibvirtRig(output);
        rig.Libvirtd.Create(rig.A, TestDomainXml.For(rig.A, rig.Libvirtd.LogDirectory));
        await using LibvirtHotplug hotplug = LibvirtHotplug.Open(rig.Libvirtd.Uri, rig.A);

        Assert.False(await hotplug.HasDeviceAsync(rig.Lv, CancellationToken.None));
        await hotplug.AttachAsync(rig.Lv, CancellationToken.None);
        await hotplug.AttachAsync(rig.Lv, CancellationToken.None); // already there: nothing to do

        Assert.True(await hotplug.HasDeviceAsync(rig.Lv, CancellationToken.None));
        var peer = Assert.Single(rig.Server.RegionStatus("lv").Peers); // attach returns once QEMU has connected
        Assert.Equal((rig.A, peer.Pid), (peer.Name, await hotplug.QemuPidAsync(CancellationToken.None)));
        Assert.Equal($"libvirt domain {rig.A} on {rig.Libvirtd.Uri}", hotplug.Description);
    }

    [LibvirtFact]
    public async Task ADomainWithoutAnEmptyRootPortIsRefusedSayingWhatItNeeds()
    {
        using var rig = new LibvirtRig(output);
        rig.Libvirtd.Create(rig.A, TestDomainXml.For(rig.A, rig.Libvirtd.LogDirectory, rootPorts: 0));
        await using LibvirtHotplug hotplug = LibvirtHotplug.Open(rig.Libvirtd.Uri, rig.A);

        var e = await Assert.ThrowsAsync<VmHotplugException>(() => hotplug.AttachAsync(rig.Lv, CancellationToken.None));

        Assert.Contains("No more available PCI slots", e.Message);
        Assert.Contains("needs an empty pcie-root-port", e.Message);
        Assert.Empty(rig.PeersOf("lv"));
    }

    [LibvirtFact]
    public async Task ADetachThatNoGuestCompletesTimesOutSayingSoAndTheDeviceStays()
    {
        using var rig = new LibvirtRig(output);
        rig.Libvirtd.Create(rig.A, TestDomainXml.For(rig.A, rig.Libvirtd.LogDirectory)); // firmware only: nobody answers the unplug
        await using LibvirtHotplug hotplug = LibvirtHotplug.Open(rig.Libvirtd.Uri, rig.A);
        await hotplug.AttachAsync(rig.Lv, CancellationToken.None);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<VmHotplugException>(() => hotplug.DetachAsync(rig.Lv, TimeSpan.FromSeconds(1), CancellationToken.None));
        output.WriteLine($"detach gave up after {watch.ElapsedMilliseconds} ms");

        Assert.Contains("the guest did not release region 'lv''s device (shmem0) within 1 s", e.Message);
        Assert.True(await hotplug.HasDeviceAsync(rig.Lv, CancellationToken.None));
        Assert.Equal([rig.A], rig.PeersOf("lv")); // QEMU keeps the device and its connection
    }

    [LibvirtFact]
    public async Task AnUnknownDomainAndAnUnreachableLibvirtAreClearErrors()
    {
        using var rig = new LibvirtRig(output);

        var unknown = Assert.Throws<VmHotplugException>(() => LibvirtHotplug.Open(rig.Libvirtd.Uri, "no-such-domain"));
        string nowhere = $"qemu:///system?socket={rig.Libvirtd.Directory}/nobody-listens";
        var unreachable = await Assert.ThrowsAsync<VmHotplugException>(() => LibvirtHotplug.OpenAsync(nowhere, rig.A, CancellationToken.None));

        Assert.Contains($"has no domain 'no-such-domain'", unknown.Message);
        Assert.StartsWith($"cannot connect to libvirt at {nowhere}: ", unreachable.Message);
        Assert.Contains("nobody-listens", unreachable.Message); // libvirt's own reason names the socket
        Assert.Equal(ExitCodes.Unavailable, unreachable.ExitCode);
    }

    private static string WriteConfig(LibvirtRig rig)
    {
        string path = rig.Libvirtd.Directory + "/ivshmemd.yaml";
        File.WriteAllText(path, $"""
            regions:
              - name: lv
                size: 1M
                socket: {rig.Lv.SocketPath}
                vms: [{rig.A}, {rig.B}]
            """);
        return path;
    }
}
