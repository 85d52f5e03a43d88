using System.Diagnostics;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>The project's test guest (scripts/build-test-guest: Debian's kernel and a busybox initramfs),
/// built or found in its cache once per test run.</summary>
internal sealed record GuestImage(string Kernel, string Initrd)
{
    private static readonly Lazy<GuestImage> Built = new(Build);

    public static GuestImage Get() => Built.Value;

    private static GuestImage Build()
    {
        string script = Path.Combine(RepositoryLayout.Root, "scripts", "build-test-guest");
        var start = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using Process p = Process.Start(start)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"scripts/build-test-guest failed ({p.ExitCode}):\n{stderr.Result}");
        string dir = stdout.Trim().Split('\n')[^1];
        return new GuestImage(Path.Combine(dir, "vmlinux"), Path.Combine(dir, "initrd.gz"));
    }
}
