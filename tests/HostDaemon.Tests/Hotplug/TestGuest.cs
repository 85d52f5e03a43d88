using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Hotplug;

/// <summary>
/// The project's Linux test guest (kernel and busybox initramfs, scripts/build-test-guest; built once
/// and cached under .cache/test-guest, which needs the Debian archive the first time), for what only
/// a guest OS does: completing a device_del. Its /init prints "IVSHMEM-GUEST: ready" on the serial
/// console before it runs the command.
/// </summary>
internal static class TestGuest
{
    public const string ReadyMarker = "IVSHMEM-GUEST: ready";
    private static readonly Lazy<string> Built = new(Build);

    /// <summary>The image directory (vmlinux, initrd.gz).</summary>
    public static string Image => Built.Value;

    private static string Build()
    {
        CliResult result = ChildProcess.RunAsync(Path.Combine(RepositoryLayout.Root, "scripts", "build-test-guest"), [], timeoutSeconds: 900)
            .GetAwaiter().GetResult();
        Assert.True(result.ExitCode == 0, $"scripts/build-test-guest failed (exit {result.ExitCode}): {result.Error}");
        return result.OutputLines[^1];
    }
}
