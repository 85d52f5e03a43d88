using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.EndToEnd;

/// <summary>
/// The newcomer's demo with real guests: runs <c>scripts/demo --vm</c> as a person would, which starts
/// ivshmemd on its built-in demo configuration, boots vm-a and vm-b with the options
/// <c>ivshmemd qemu-args</c> prints, and moves 32 MiB from one to the other through VFIO and the ring.
/// The script checks each step itself; this test also checks that it showed each of them, and that it
/// left no process and no directory behind.
/// </summary>
[Collection(RealVmCollection.Name)]
public sealed partial class DemoVmTests(ITestOutputHelper output)
{
    /// <summary>Generous: a cold run builds the NativeAOT agent and may download the guest kernel; a
    /// warm one under software emulation takes 15-60 s.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(20);

    [Fact]
    public void DemoWithTwoGuestsShowsEveryStepAndCleansUp()
    {
        ScriptResult run = RepositoryScript.Run(output, Limit, "demo", "--vm");
        string text = run.Output;

        Assert.True(run.Finished, $"scripts/demo --vm did not finish within {Limit.TotalMinutes} minutes:\n{RepositoryScript.Tail(text)}");
        Assert.True(run.ExitCode == 0, $"scripts/demo --vm failed with exit status {run.ExitCode}:\n{RepositoryScript.Tail(text)}");

        // The daemon, on the built-in configuration, in a temporary directory.
        Match daemon = DaemonLine().Match(text);
        Assert.True(daemon.Success, $"no '== 2. ivshmemd run --demo DIR' line:\n{RepositoryScript.Tail(text)}");
        string directory = daemon.Groups["dir"].Value;
        // Both guests booted with what 'ivshmemd qemu-args' prints for that directory.
        // (The device sits on its hot-plug root port: docs/migration.md, "The root port".)
        Printed(text, $@"(?m)^\s+-device pcie-root-port,id=ivshmem-rp-demo,chassis=200,slot=\d+,pref64-reserve=128M -chardev socket,id=ivshmem-demo,path={Regex.Escape(directory)}/demo\.sock -device ivshmem-doorbell,id=ivshmem-demo,chardev=ivshmem-demo,vectors=2,bus=ivshmem-rp-demo$", "the QEMU options of the demo region");
        Printed(text, @"(?m)^\s+vm-a is up, .*bound to vfio-pci", "vm-a booting with the device bound to vfio-pci");
        Printed(text, @"(?m)^\s+vm-b is up, .*bound to vfio-pci", "vm-b booting with the device bound to vfio-pci");
        // Each agent uses VFIO with MSI-X, and each sees the other by name in the peer table.
        Assert.Equal(2, Regex.Matches(text, @"(?m)^\s+access:\s+vfio").Count);
        Assert.Equal(2, Regex.Matches(text, @"(?m)^\s+interrupts:\s+MSI-X").Count);
        Printed(text, @"(?m)^\s+\d+\s+\d+\s+present\s+vm\s+vm-b\s*\s\d{4}-", "vm-b in vm-a's peer table");
        Printed(text, @"(?m)^\s+\d+\s+\d+\s+present\s+vm\s+vm-a\s*\s\d{4}-", "vm-a in vm-b's peer table");
        // 32 MiB from vm-a to vm-b, verified by the receiver.
        Printed(text, @"(?m)^\s+sent 33554432 bytes .* to 'vm-b' .*the receiver verified the checksum", "vm-a's send summary");
        Printed(text, @"(?m)^\s+received 33554432 bytes .* from 'vm-a' .*checksum verified", "vm-b's receive summary");
        Printed(text, @"(?m)^\s+both sides report XXH128 [0-9a-f]{32}; sha256sum of the file on each side: [0-9a-f]{64}$", "the checksums compared");
        // The doorbell round trip.
        Printed(text, @"(?m)^\s+ring round trip to 'vm-b' .*: 1000 x 64 B: .*p50 [0-9.]+ us, p99 [0-9.]+ us", "the ping summary");
        // ivshmemd status on the host, with both VMs attached: "ID SLOT NAME KIND PID USER SINCE".
        Printed(text, @"(?m)^\s+\d+\s+\d+\s+vm-a\s+vm\s+\d+\s", "vm-a in ivshmemd status");
        Printed(text, @"(?m)^\s+\d+\s+\d+\s+vm-b\s+vm\s+\d+\s", "vm-b in ivshmemd status");
        // A clean end.
        Printed(text, @"(?m)^\s+vm-a received 'power off, vm-a' and powered off", "vm-a powering off");
        Printed(text, @"(?m)^\s+vm-b received 'power off, vm-b' and powered off", "vm-b powering off");
        Printed(text, @"(?m)^\s+ivshmemd stopped cleanly on SIGTERM$", "the daemon stopping");
        Printed(text, @"(?m)^== OK at [0-9.]+ s: vm-a sent 32 MiB to vm-b", "the final verdict");

        Assert.False(Directory.Exists(directory), $"the demo left its directory {directory} behind");
        string[] leftovers = RepositoryScript.ProcessesMentioning(directory);
        Assert.True(leftovers.Length == 0, $"processes left behind:\n{string.Join('\n', leftovers)}");
    }

    private static void Printed(string text, string pattern, string what) =>
        Assert.True(Regex.IsMatch(text, pattern), $"scripts/demo --vm did not show {what} (/{pattern}/):\n{RepositoryScript.Tail(text)}");

    [GeneratedRegex(@"(?m)^== 2\. ivshmemd run --demo (?<dir>/tmp/ivshmemd-demo-vm\.\w+)$")]
    private static partial Regex DaemonLine();
}
