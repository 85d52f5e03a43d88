using System.Diagnostics;

namespace Ivshmem.Daemon.Doctor;

/// <summary>Checks "qemu" and "qemu-ivshmem": a QEMU is installed, and it was built with the
/// ivshmem-doorbell device (the one that talks to a server; distributions that build QEMU without
/// CONFIG_IVSHMEM_DEVICE, or a minimal build, lack it).</summary>
internal static class QemuChecks
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static IEnumerable<CheckResult> Run(HostView host)
    {
        (string? binary, string source) = host.QemuBinary();
        if (binary is null)
        {
            yield return CheckResult.Fail("qemu", $"{HostView.QemuName} is not on $PATH",
                $"install QEMU (apt install qemu-system-x86, dnf install qemu-kvm), or name the binary with --qemu PATH or ${HostView.QemuVariable}");
            yield break;
        }
        if (!File.Exists(binary))
        {
            yield return CheckResult.Fail("qemu", $"{binary} (from {source}) does not exist",
                $"install QEMU, or name an existing binary with --qemu PATH or ${HostView.QemuVariable}");
            yield break;
        }
        (int? exitCode, string output, string? failure) = Ask(binary, "-device", "help");
        if (failure is not null || exitCode != 0)
        {
            string why = failure ?? $"it exited with status {exitCode}: {FirstLine(output)}";
            yield return CheckResult.Fail("qemu", $"{binary} -device help does not work: {why}",
                $"check that {binary} is a working QEMU system emulator (run '{binary} -device help')");
            yield break;
        }
        string version = FirstLine(Ask(binary, "--version").Output);
        yield return CheckResult.Pass("qemu", $"{binary} ({(version.Length > 0 ? version : "version unknown")})");
        yield return output.Contains("name \"ivshmem-doorbell\"", StringComparison.Ordinal)
            ? CheckResult.Pass("qemu-ivshmem", $"{binary} has the ivshmem-doorbell device")
            : CheckResult.Fail("qemu-ivshmem", $"{binary} -device help does not list ivshmem-doorbell: this QEMU was built without ivshmem (CONFIG_IVSHMEM_DEVICE)",
                "install a QEMU built with ivshmem (Debian's and Fedora's qemu-system-x86 packages have it)");
    }

    /// <summary>Runs the binary with no input and a time limit; output is stdout and stderr together.</summary>
    private static (int? ExitCode, string Output, string? Failure) Ask(string binary, params string[] args)
    {
        var start = new ProcessStartInfo(binary, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.Environment["LC_ALL"] = "C";
        try
        {
            using Process process = Process.Start(start)!;
            process.StandardInput.Close();
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                return (null, "", $"no answer within {Timeout.TotalSeconds:0} s");
            }
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr.Result, null);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (null, "", e.Message);
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
