using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Qemu;

/// <summary>A real configuration file for the QEMU tests, and the QEMU options for a VM exactly as
/// <c>ivshmemd qemu-args VM --format lines</c> prints them for it.</summary>
internal sealed class QemuConfig
{
    public const long RegionSize = 1 << 20;

    private QemuConfig(string path, DaemonOptions options)
    {
        Path = path;
        Options = options;
    }

    public string Path { get; }
    public DaemonOptions Options { get; }

    public static QemuConfig Write(TestDirectory dir, int vectors = 2, string vms = "vm-a, vm-b, vm-c")
    {
        string path = dir.File("ivshmemd.yaml");
        File.WriteAllText(path, $"""
            runtime_directory: {dir.Path}
            control_socket: {dir.File("control.sock")}
            regions:
              - name: q
                size: 1M
                vectors: {vectors}
                max_peers: 4
                vms: [{vms}]
                host_users: [{TestConfig.CurrentUser}]
            """);
        ConfigLoadResult loaded = ConfigLoader.Load(path);
        Assert.True(loaded.Succeeded, string.Join("\n", loaded.Errors));
        return new QemuConfig(path, loaded.Options);
    }

    /// <summary>The options for <paramref name="vm"/>, with <paramref name="options"/> (--no-device) added.</summary>
    public IReadOnlyList<string> QemuArgs(string vm, params string[] options)
    {
        CliResult result = CliRunner.RunAsync(["qemu-args", vm, "--config", Path, "--format", "lines", .. options]).GetAwaiter().GetResult();
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.OutputLines;
    }
}
