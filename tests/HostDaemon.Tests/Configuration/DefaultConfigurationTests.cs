using Ivshmem.Cli;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Tests.Configuration;

public sealed class DefaultConfigurationTests
{
    [Fact]
    public void CreateDescribesTheDemoRegionUnderTheGivenDirectory()
    {
        DaemonOptions options = DefaultConfiguration.Create("/tmp/demo-run/");

        Assert.Equal("/tmp/demo-run", options.RuntimeDirectory);
        Assert.Equal("/tmp/demo-run/control.sock", options.ControlSocketPath);
        Assert.Null(options.ControlSocketGroup);
        Assert.Equal(DefaultConfiguration.SourceDescription, options.SourcePath);
        RegionOptions region = Assert.Single(options.Regions);
        Assert.Equal("demo", region.Name);
        Assert.Equal(64L << 20, region.SizeBytes);
        Assert.Equal(RegionBacking.Memfd, region.Backing);
        Assert.Equal(2, region.Vectors);
        Assert.Equal(["vm-a", "vm-b"], region.Vms);
        Assert.Equal([Environment.UserName], region.HostUsers);
        Assert.Equal(4, region.MaxPeers);
        Assert.Equal("/tmp/demo-run/demo.sock", region.SocketPath);
        Assert.Empty(region.AllowUsers);
        Assert.Empty(region.AllowGroups);
    }

    [Fact]
    public void CreateMakesARelativeDirectoryAbsolute()
    {
        DaemonOptions options = DefaultConfiguration.Create("relative-demo");

        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "relative-demo"), options.RuntimeDirectory);
        Assert.True(Path.IsPathRooted(options.Regions[0].SocketPath));
    }

    [Fact]
    public void CreateRejectsADirectoryTooLongForSocketPaths()
    {
        string tooLong = "/tmp/" + new string('d', 100);

        var error = Assert.Throws<ArgumentException>(() => DefaultConfiguration.Create(tooLong));

        Assert.Contains("more than the 107 a UNIX socket path holds", error.Message);
    }

    [Fact]
    public void TheBuiltInConfigurationPassesTheSameValidationAsAFile()
    {
        // The demo must not be able to do what a YAML file may not (a region too small for its peers,
        // a bad name): the same region written as YAML must load to equal options.
        DaemonOptions builtIn = DefaultConfiguration.Create("/tmp/demo-run");
        RegionOptions region = builtIn.Regions[0];
        string yaml = $"""
            runtime_directory: {builtIn.RuntimeDirectory}
            regions:
              - name: {region.Name}
                size: {ByteSize.Format(region.SizeBytes)}
                vectors: {region.Vectors}
                socket_mode: "{Convert.ToString((int)region.SocketMode, 8)}"
                max_peers: {region.MaxPeers}
                vms: [{string.Join(", ", region.Vms)}]
                host_users: ["{region.HostUsers[0]}"]
            """;

        ConfigLoadResult fromYaml = ConfigLoader.Parse(yaml, "demo.yaml", "/unused");

        Assert.True(fromYaml.Succeeded, string.Join('\n', fromYaml.Errors));
        Assert.Equal(region, fromYaml.Options.Regions[0]);
        Assert.Equal(builtIn with { SourcePath = "demo.yaml", Regions = fromYaml.Options.Regions }, fromYaml.Options);
    }
}
