using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Libvirt;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>The follower's decisions and what it reads from libvirt's XML, without a libvirtd.</summary>
public sealed class LibvirtRulesTests
{
    private static readonly RegionOptions WebDb = TestConfig.Region("web-db", vms: ["web", "db"]);
    private static readonly RegionOptions WebCache = TestConfig.Region("web-cache", vms: ["web", "cache"]);

    [Fact]
    public void ADomainGetsARegionOnlyWhenAPartnerOfThatRegionRunsHere()
    {
        var (attach, alone) = PairingPlan.For([WebDb, WebCache], new HashSet<string> { "web", "db", "stranger" });

        Assert.Equal(new[] { ("web-db", "web", "db"), ("web-db", "db", "web") },
            attach.Select(p => (p.Region.Name, p.Domain, string.Join(",", p.Partners))));
        Assert.Equal(("web-cache", "web"), Assert.Single(alone.Select(p => (p.Region.Name, p.Domain))));
    }

    [Fact]
    public void NothingRunsNothingToDo()
    {
        var (attach, alone) = PairingPlan.For([WebDb], new HashSet<string>());
        Assert.Empty(attach);
        Assert.Empty(alone);
    }

    [Theory]
    [InlineData(2, 0, true)]  // started: booted
    [InlineData(2, 1, true)]  // started: migrated
    [InlineData(4, 1, true)]  // resumed: migrated
    [InlineData(4, 0, false)] // resumed: unpaused (comes just before started: booted, and after every pause)
    [InlineData(2, 2, false)] // started: restored from a save file, whose device set is the saved one
    [InlineData(5, 1, false)] // stopped: destroyed
    public void OnlyAStartOrAnIncomingMigrationBringsADomainHere(int type, int detail, bool bringsHere) =>
        Assert.Equal(bringsHere, LifecycleWords.BringsDomainHere(type, detail));

    [Fact]
    public void LifecycleEventsReadAsWords()
    {
        Assert.Equal("started: booted", LifecycleWords.Describe(2, 0));
        Assert.Equal("stopped: destroyed", LifecycleWords.Describe(5, 1));
        Assert.Equal("event 42", LifecycleWords.Describe(42, 0));
        Assert.Equal("suspended", LifecycleWords.Describe(3, 99));
    }

    // The live XML of a q35 domain as libvirt 9.0 writes it (shortened): two root ports, the first one
    // holding a device, the second with a window reserved through qemu:override.
    private const string LiveXml = """
        <domain type='qemu' id='3' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
          <name>web</name>
          <devices>
            <controller type='pci' index='0' model='pcie-root'><alias name='pcie.0'/></controller>
            <controller type='pci' index='1' model='pcie-root-port'>
              <alias name='pci.1'/><address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
            </controller>
            <controller type='pci' index='2' model='pcie-root-port'>
              <alias name='pci.2'/><address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
            </controller>
            <controller type='pci' index='3' model='pcie-root-port'>
              <alias name='pci.3'/><address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
            </controller>
            <shmem name='web-db'>
              <model type='ivshmem-doorbell'/>
              <server path='/run/ivshmemd/web-db.sock'/>
              <msi vectors='2' ioeventfd='on'/>
              <alias name='shmem0'/>
              <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
            </shmem>
          </devices>
          <qemu:override>
            <qemu:device alias='pci.3'>
              <qemu:frontend><qemu:property name='pref64-reserve' type='unsigned' value='268435456'/></qemu:frontend>
            </qemu:device>
          </qemu:override>
        </domain>
        """;

    [Fact]
    public void TheLiveXmlTellsWhichShmemDevicesTheDomainHasAndTheirAliases()
    {
        var live = LiveDomainXml.Parse(LiveXml);

        LiveShmem shmem = Assert.Single(live.Shmems);
        Assert.Equal(("web-db", "shmem0"), (shmem.Name, shmem.Alias));
        Assert.Contains("<server path=\"/run/ivshmemd/web-db.sock\" />", shmem.Xml);
        Assert.Null(live.Shmem("web-cache"));
    }

    [Fact]
    public void AnEmptyRootPortWithAWindowLargeEnoughIsPreferred()
    {
        var live = LiveDomainXml.Parse(LiveXml);

        Assert.Equal(3, live.FreeRootPort(64 << 20));   // pci.3 reserves 256M
        Assert.Equal(2, live.FreeRootPort(512 << 20));  // none is large enough: the first empty one
        Assert.Equal(2, live.FreeRootPort(256 << 20));  // 256M reserved holds a 256M BAR only by luck: twice the size is wanted
        Assert.Equal(268435456, live.Pref64Reserve("pci.3"));
        Assert.Equal(0, live.Pref64Reserve("pci.2"));
    }

    [Fact]
    public void ADomainWithoutAnEmptyRootPortHasNone()
    {
        string full = LiveXml.Replace("<controller type='pci' index='2' model='pcie-root-port'>", "<controller type='pci' index='2' model='pcie-to-pci-bridge'>")
            .Replace("</shmem>", "</shmem><rng model='virtio'><address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></rng>");
        Assert.Null(LiveDomainXml.Parse(full).FreeRootPort(1 << 20));
    }

    [Fact]
    public void ARootPortWithHotplugOffIsNotATarget()
    {
        string noHotplug = LiveXml.Replace("<alias name='pci.2'/>", "<target chassis='2' port='0x9' hotplug='off'/><alias name='pci.2'/>");
        Assert.Equal(3, LiveDomainXml.Parse(noHotplug).FreeRootPort(512 << 20));
    }

    [Fact]
    public async Task AReloadThatChangesTheLibvirtSectionKeepsTheRunningOneAndSaysARestartIsNeeded()
    {
        using var server = new RunningServer(TestConfig.Region("r", vms: ["a", "b"]));
        DaemonOptions changed = server.Options with { Libvirt = new LibvirtOptions("qemu:///session", true) };

        await server.Server.ApplyAsync(changed);

        Assert.Null(server.Server.Options.Libvirt);
        Assert.Contains("libvirt", Assert.Single(server.Log.WithEvent(5004)).Message);
    }

    [Fact]
    public void TheLibvirtSectionIsReadWithItsDefaults()
    {
        using var temp = new Configuration.TempDirectory();
        string both = temp.Write("a.yaml", "libvirt: {uri: 'qemu+ssh://root@host/system', follow: true}\nregions: [{name: r, size: 1M, vms: [a, b]}]\n");
        string empty = temp.Write("b.yaml", "libvirt: {}\nregions: [{name: r, size: 1M, vms: [a, b]}]\n");
        string none = temp.Write("c.yaml", "regions: [{name: r, size: 1M, vms: [a, b]}]\n");

        Assert.Equal(new LibvirtOptions("qemu+ssh://root@host/system", true), ConfigLoader.Load(both).Options!.Libvirt);
        Assert.Equal(new LibvirtOptions("qemu:///system", false), ConfigLoader.Load(empty).Options!.Libvirt);
        Assert.Null(ConfigLoader.Load(none).Options!.Libvirt);
    }
}
