using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>
/// A real qemu-system-x86_64 (Debian's QEMU 7.2) under software emulation, paused (-S), no disks, no
/// guest OS, with a QMP socket; plus whatever device options the test adds (what
/// <c>ivshmemd qemu-args VM</c> prints). Killed on dispose.
/// </summary>
internal sealed class QemuProcess : IDisposable
{
    public const string Binary = "qemu-system-x86_64";
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(20);
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private QmpClient? _qmp;

    private QemuProcess(Process process, string name, string qmpPath)
    {
        _process = process;
        Name = name;
        QmpPath = qmpPath;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public string Name { get; }
    public string QmpPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public string Stderr
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    /// <summary>Starts QEMU as VM <paramref name="name"/> with <paramref name="deviceArgs"/>.</summary>
    public static QemuProcess Start(string name, string directory, IEnumerable<string> deviceArgs) =>
        Start(name, directory, ["-S", "-m", "64"], deviceArgs);

    /// <summary>Starts QEMU as VM <paramref name="name"/> running a Linux guest: the project's test
    /// guest (scripts/build-test-guest) in <paramref name="image"/>, whose /init runs
    /// <paramref name="guestCommand"/> and prints its markers on the serial console, written to
    /// <paramref name="console"/>.</summary>
    public static QemuProcess StartGuest(string name, string directory, string image, string guestCommand, string console, IEnumerable<string> deviceArgs) =>
        Start(name, directory,
        [
            "-cpu", "max", "-m", "256", "-smp", "1", "-no-reboot", "-serial", $"file:{console}",
            "-kernel", Path.Combine(image, "vmlinux"), "-initrd", Path.Combine(image, "initrd.gz"),
            "-append", $"console=ttyS0 panic=-1 quiet ivshmem.cmd={Convert.ToBase64String(Encoding.UTF8.GetBytes(guestCommand))}",
        ], deviceArgs);

    private static QemuProcess Start(string name, string directory, IEnumerable<string> machineArgs, IEnumerable<string> deviceArgs)
    {
        string qmp = Path.Combine(directory, $"qmp-{name}-{Guid.NewGuid():N}"[..40] + ".sock");
        var start = new ProcessStartInfo(Binary) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "-M", "q35", "-nodefaults", "-no-user-config", "-display", "none", "-accel", "tcg",
                     "-name", name, "-qmp", $"unix:{qmp},server=on,wait=off" })
            start.ArgumentList.Add(a);
        foreach (string a in machineArgs) start.ArgumentList.Add(a);
        foreach (string a in deviceArgs) start.ArgumentList.Add(a);
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Binary}");
        return new QemuProcess(process, name, qmp);
    }

    /// <summary>The QMP connection (made on first use): proves QEMU finished device realize and runs.</summary>
    public QmpClient Qmp => _qmp ??= QmpClient.Connect(QmpPath, Diagnostics);

    /// <summary>Closes the test's QMP connection (QEMU serves one client at a time), so that a command
    /// under test can connect; the next use of <see cref="Qmp"/> connects again.</summary>
    public void ReleaseQmp()
    {
        _qmp?.Dispose();
        _qmp = null;
    }

    /// <summary>The ivshmem device (vendor 0x1af4, device 0x1110) as query-pci shows it (qdev_id, id,
    /// regions), or null. query-pci shows what sits behind a PCIe root port only once firmware has
    /// numbered the buses, which a paused QEMU never does; such a device is read from HMP's
    /// "info qtree" instead, into the same shape.</summary>
    public JsonNode? IvshmemDevice()
    {
        JsonNode? buses = Qmp.Execute("query-pci", Diagnostics);
        foreach (JsonNode? bus in buses!.AsArray())
            if (FindIvshmem(bus!["devices"]) is { } device)
                return device;
        return IvshmemDeviceFromQtree();
    }

    private static JsonNode? FindIvshmem(JsonNode? devices)
    {
        foreach (JsonNode? device in devices?.AsArray() ?? [])
        {
            if (device!["id"]!["vendor"]!.GetValue<int>() == 0x1af4 && device["id"]!["device"]!.GetValue<int>() == 0x1110)
                return device;
            if (FindIvshmem(device["pci_bridge"]?["devices"]) is { } behind)
                return behind;
        }
        return null;
    }

    /// <summary>"dev: ivshmem-doorbell, id "X"" and its "bar N: mem at 0xADDR [0xLAST]" lines (an
    /// unassigned BAR has ADDR all ones, so its size is LAST - ADDR + 1 modulo 2^64).</summary>
    private JsonNode? IvshmemDeviceFromQtree()
    {
        string[] lines = Human("info qtree").Split('\n');
        int start = Array.FindIndex(lines, l => l.TrimStart().StartsWith("dev: ivshmem-doorbell,", StringComparison.Ordinal));
        if (start < 0) return null;
        string id = Regex.Match(lines[start], "id \"([^\"]*)\"").Groups[1].Value;
        int indent = lines[start].Length - lines[start].TrimStart().Length;
        var regions = new JsonArray();
        for (int i = start + 1; i < lines.Length && lines[i].Length - lines[i].TrimStart().Length > indent; i++)
        {
            Match bar = Regex.Match(lines[i], @"bar (\d+): \S+ at 0x([0-9a-f]+) \[0x([0-9a-f]+)\]");
            if (!bar.Success) continue;
            ulong address = ulong.Parse(bar.Groups[2].Value, NumberStyles.HexNumber), last = ulong.Parse(bar.Groups[3].Value, NumberStyles.HexNumber);
            regions.Add(new JsonObject
            {
                ["bar"] = int.Parse(bar.Groups[1].Value, CultureInfo.InvariantCulture),
                ["address"] = (long)address, // -1 while unassigned, as query-pci says
                ["size"] = (long)(last - address + 1),
            });
        }
        return new JsonObject { ["qdev_id"] = id, ["id"] = new JsonObject { ["vendor"] = 0x1af4, ["device"] = 0x1110 }, ["regions"] = regions };
    }

    public string Human(string commandLine) => Qmp.Human(commandLine, Diagnostics);

    /// <summary>Size of BAR <paramref name="bar"/> of <paramref name="device"/>.</summary>
    public static long BarSize(JsonNode device, int bar) =>
        device["regions"]!.AsArray().Single(r => r!["bar"]!.GetValue<int>() == bar)!["size"]!.GetValue<long>();

    public string Status() => Qmp.Execute("query-status", Diagnostics)!["status"]!.GetValue<string>();

    /// <summary>Waits for QEMU to exit on its own; its exit code, or a failure after the bound.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(ExitTimeout))
            Assert.Fail($"QEMU {Name} did not exit within {ExitTimeout.TotalSeconds:0} s (hung?): {Diagnostics()}");
        _process.WaitForExit(); // flush the output readers
        return _process.ExitCode;
    }

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit();
    }

    public string Diagnostics() => $"QEMU {Name} (pid {_process.Id}{(_process.HasExited ? $", exited {_process.ExitCode}" : "")}) said: {Stderr}";

    public void Dispose()
    {
        _qmp?.Dispose();
        try { Kill(); }
        catch (InvalidOperationException) { /* never started */ }
        _process.Dispose();
    }
}
