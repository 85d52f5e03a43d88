using Ivshmem.Daemon.Configuration;
using Xunit.Abstractions;

namespace Ivshmem.Daemon.Tests.Configuration;

/// <summary>A configuration that cannot be read is one error at 1:1 that says why.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UnreadableConfigTests(ITestOutputHelper log)
{
    [Fact]
    public void LoadReportsAFileItCannotReadAsOneErrorThatSaysWhy()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("ivshmemd.yaml", "regions:\n  - name: web-db\n    size: 64M\n    vms: [web, db]\n");
        File.SetUnixFileMode(path, UnixFileMode.None);
        string expectedReason = "permission denied";
        if (CanRead(path))
        {
            // Root (CAP_DAC_OVERRIDE) reads a mode-000 file anyway, and tests may run as root:
            // then make the path unreadable in a way no capability gets around, a dangling symlink.
            log.WriteLine($"running with CAP_DAC_OVERRIDE (uid {Environment.UserName}): chmod 000 does not stop reads, testing a dangling symlink instead");
            File.Delete(path);
            File.CreateSymbolicLink(path, Path.Combine(temp.Path, "deleted-target.yaml"));
            expectedReason = "no such file";
        }

        ConfigLoadResult result = ConfigLoader.Load(path, "/run/ivshmemd");

        ConfigError error = Assert.Single(result.Errors);
        Assert.Equal($"{path}:1:1: error: cannot read the configuration: {expectedReason}", error.ToString()[..error.ToString().IndexOf(';')]);
    }

    [Fact]
    public void LoadReportsADanglingSymlinkAsMissing()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "ivshmemd.yaml");
        File.CreateSymbolicLink(path, Path.Combine(temp.Path, "nowhere.yaml"));

        ConfigError error = Assert.Single(ConfigLoader.Load(path, "/run/ivshmemd").Errors);

        Assert.Equal($"{path}:1:1: error: cannot read the configuration: no such file; check the path", error.ToString());
    }

    [Fact]
    public void LoadReportsADirectoryAndSuggestsTheFileInside()
    {
        using var temp = new TempDirectory();

        ConfigError error = Assert.Single(ConfigLoader.Load(temp.Path, "/run/ivshmemd").Errors);

        Assert.Equal(temp.Path, error.File);
        Assert.Equal((1, 1), (error.Line, error.Column));
        Assert.Equal("cannot read the configuration: it is a directory; give the path of the YAML file inside it, e.g. ivshmemd.yaml", error.Message);
    }

    [Fact]
    public void LoadReportsAMissingDirectoryOnThePath()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "no-such-dir", "ivshmemd.yaml");

        ConfigError error = Assert.Single(ConfigLoader.Load(path, "/run/ivshmemd").Errors);

        Assert.StartsWith("cannot read the configuration: no such file", error.Message);
    }

    [Fact]
    public void LoadRefusesAFileFarLargerThanAnyConfiguration()
    {
        using var temp = new TempDirectory();
        string path = temp.Write("huge.yaml", "# " + new string('x', 2 << 20) + "\n");

        ConfigError error = Assert.Single(ConfigLoader.Load(path, "/run/ivshmemd").Errors);

        Assert.Contains("larger than any configuration", error.Message);
    }

    private static bool CanRead(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
