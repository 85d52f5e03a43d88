using System.Diagnostics;
using System.Text.Json;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Tests.Vm;

/// <summary>
/// QEMU itself is the oracle: start a real (idle, machine-less) QEMU with a -name, read its
/// /proc/PID/cmdline as the daemon will, and compare with the name QEMU reports over QMP (query-name).
/// Needs qemu-system-x86_64 (scripts/test installs qemu-system-x86).
/// </summary>
public sealed class QemuProcessNameAgainstQemuTests
{
    private const string Qemu = "/usr/bin/qemu-system-x86_64";

    public static TheoryData<string[]> NameForms() => new()
    {
        new[] { "-name", "web" },
        new[] { "-name", "guest=web,debug-threads=on" },
        new[] { "--name", "web,process=qemu-web" },
        new[] { "-name", "a,,b" },
        new[] { "-name", "a,,b=c" },
        new[] { "-name", "guest=a,guest=b" },
        new[] { "-name", "first", "-name", "guest=second,debug-threads=on" },
        new[] { "-name", "web", "-name", "debug-threads=on" },
        new[] { "-name", "debug-threads=on" },
        Array.Empty<string>(),
    };

    [Theory]
    [MemberData(nameof(NameForms))]
    public async Task NameFromCmdlineIsTheNameQemuReports(string[] nameOptions)
    {
        Assert.True(File.Exists(Qemu), $"{Qemu} is not installed; scripts/test installs the Debian package qemu-system-x86");
        var start = new ProcessStartInfo(Qemu)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["-M", "none", "-display", "none", "-nodefaults", "-S", "-qmp", "stdio", .. nameOptions])
            start.ArgumentList.Add(argument);

        using var qemu = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string greeting = await qemu.StandardOutput.ReadLineAsync(timeout.Token) ?? "";
            Assert.Contains("QMP", greeting);
            byte[] cmdline = await File.ReadAllBytesAsync($"/proc/{qemu.Id}/cmdline", timeout.Token);

            await qemu.StandardInput.WriteLineAsync("""{"execute":"qmp_capabilities"}""");
            // The id comes back with the answer, telling it apart from qmp_capabilities' {"return": {}}.
            await qemu.StandardInput.WriteLineAsync("""{"execute":"query-name","id":"name"}""");
            await qemu.StandardInput.FlushAsync(timeout.Token);
            JsonElement? answer = null;
            while (answer is null && await qemu.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                using var json = JsonDocument.Parse(line);
                if (json.RootElement.TryGetProperty("id", out var id) && id.GetString() == "name")
                    answer = json.RootElement.GetProperty("return").Clone();
            }

            Assert.NotNull(answer);
            string? reported = answer.Value.TryGetProperty("name", out var name) ? name.GetString() : null;
            Assert.Equal(reported, QemuProcessName.FromCmdline(cmdline));
        }
        finally
        {
            qemu.Kill();
            await qemu.WaitForExitAsync();
        }
    }
}
