using System.Xml.Linq;
using Ivshmem.Daemon.Cli;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Cli;

public sealed class LibvirtXmlCommandTests
{
    [Fact]
    public async Task PrintsOneShmemElementPerRegionOfTheVm()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("libvirt-xml", "web", "--config", path);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Equal("""
            <shmem name='web-db'>
              <model type='ivshmem-doorbell'/>
              <server path='/run/ivshmemd/web-db.sock'/>
              <msi vectors='2' ioeventfd='on'/>
            </shmem>
            <shmem name='web-cache'>
              <model type='ivshmem-doorbell'/>
              <server path='/srv/ivshmem/web cache,v2.sock'/>
              <msi vectors='4' ioeventfd='on'/>
            </shmem>

            """, result.Output);
    }

    [Fact]
    public async Task EachElementIsWellFormedXmlWithoutASize()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("libvirt-xml", "web", "--config", path);
        var devices = XElement.Parse($"<devices>{result.Output}</devices>").Elements("shmem").ToList();

        Assert.Equal(2, devices.Count);
        Assert.All(devices, shmem =>
        {
            Assert.Equal("ivshmem-doorbell", shmem.Element("model")?.Attribute("type")?.Value);
            Assert.Null(shmem.Element("size")); // the daemon decides the size; libvirt ignores it for doorbell
            Assert.Null(shmem.Attribute("role"));
        });
        Assert.Equal("/srv/ivshmem/web cache,v2.sock", devices[1].Element("server")?.Attribute("path")?.Value);
    }

    [Fact]
    public void SpecialCharactersInPathsAreEscaped()
    {
        var region = new RegionOptions { Name = "r", SizeBytes = 1 << 20, SocketPath = "/run/it's <a&b>.sock" };

        XElement shmem = XElement.Parse(LibvirtShmemXml.For(region));

        Assert.Equal("/run/it's <a&b>.sock", shmem.Element("server")?.Attribute("path")?.Value);
    }

    [Fact]
    public async Task InvalidConfigurationExitsWithExConfigAndItsErrors()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.Invalid);

        CliResult result = await CliRunner.RunAsync("libvirt-xml", "web", "--config", path);

        Assert.Equal(ExitCodes.Config, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.StartsWith($"{path}:3:11: error: ", result.ErrorLines[0]);
    }

    [Fact]
    public async Task UnknownVmExitsOneAndListsTheKnownVms()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("libvirt-xml", "nope", "--config", path);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal($"ivshmemd libvirt-xml: error: no region in {path} admits VM 'nope'; VMs it names: cache, db, web", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task RegionOptionPrintsOnlyThatRegionsElementForAttachDevice()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("libvirt-xml", "web", "--region", "web-cache", "--config", path);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        XElement shmem = XElement.Parse(result.Output); // one element: what 'virsh attach-device' takes
        Assert.Equal("web-cache", shmem.Attribute("name")?.Value);
    }

    [Fact]
    public async Task RegionOptionNamingAnotherVmsRegionExitsOneAndListsTheVmsRegions()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("libvirt-xml", "db", "--region", "web-cache", "--config", path);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal("ivshmemd libvirt-xml: error: VM 'db' is in no region 'web-cache'; its regions: web-db", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public async Task MissingVmIsAUsageError()
    {
        CliResult result = await CliRunner.RunAsync("libvirt-xml");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
    }

    [Fact]
    public async Task PciBusAddsAnAddressOnSlotZeroOfThatBus()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult result = await CliRunner.RunAsync("libvirt-xml", "web", "--config", path, "--region", "web-db", "--pci-bus", "10");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        XElement address = Assert.Single(XElement.Parse(result.Output).Elements("address"));
        Assert.Equal(("pci", "0x0000", "0x0a", "0x00", "0x0"),
            ((string?)address.Attribute("type"), (string?)address.Attribute("domain"), (string?)address.Attribute("bus"),
             (string?)address.Attribute("slot"), (string?)address.Attribute("function")));
    }

    [Fact]
    public async Task PciBusNeedsOneRegionAndABusThatCanTakeADevice()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", CliTestConfigs.TwoRegions);

        CliResult twoRegions = await CliRunner.RunAsync("libvirt-xml", "web", "--config", path, "--pci-bus", "1");
        CliResult rootBus = await CliRunner.RunAsync("libvirt-xml", "web", "--config", path, "--region", "web-db", "--pci-bus", "0");

        Assert.Equal(ExitCodes.Usage, twoRegions.ExitCode);
        Assert.Contains("name one with --region", twoRegions.Error);
        Assert.Equal("", twoRegions.Output);
        Assert.Equal(ExitCodes.Usage, rootBus.ExitCode);
        Assert.Contains("bus 0 is the root complex", rootBus.Error);
    }
}
