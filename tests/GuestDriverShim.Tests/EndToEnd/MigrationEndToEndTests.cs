using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.EndToEnd;

/// <summary>
/// A VM that moves: runs scripts/migrate-e2e, which boots vm-a on host 1 and vm-b on host 2 of the
/// network lab (two network namespaces, an ivshmemd in each) with <c>ivshmem-agent net</c> on both,
/// and, while one unmodified iperf3 runs from vm-a to vm-b, detaches vm-b's device with
/// <c>ivshmemd detach</c>, live-migrates vm-b to a fresh QEMU on host 1 (started with
/// <c>qemu-args --no-device</c>), attaches the device there with <c>ivshmemd attach</c> (the
/// connection moves to the ring), then does the same back to host 2. The script checks each step,
/// that the connection never dropped and that it went through the ring while the two were
/// co-resident, and prints the timings; it removes both namespaces. Needs root.
/// </summary>
[Collection(RealVmCollection.Name)]
public sealed class MigrationEndToEndTests(ITestOutputHelper output)
{
    /// <summary>Generous: a cold run builds the NativeAOT agent and the guest image; a warm one under
    /// software emulation takes about two minutes (the iperf3 run alone is 60 s).</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(25);

    [RootFact]
    public void AGuestMigratesToItsPartnersHostAndBackWithOneIperf3ConnectionMovingToTheRingAndBack()
    {
        ScriptResult run = RepositoryScript.Run(output, Limit, "migrate-e2e");
        if (run.Finished && run.ExitCode != 0 && GuestKernelCrashed(run.Output))
        {
            // Seen once in nine runs on 2026-12-05: the guest migrated back (software emulation,
            // iperf3 sending throughout) oopsed in its network stack on a pointer into kernel text,
            // then panicked, after both migrations had completed; nothing of ivshmemd or the agent
            // runs in the guest's kernel. One more run, said aloud; a second failure fails the test.
            output.WriteLine($"scripts/migrate-e2e: a migrated guest's kernel crashed; running it once more. The first run's end:\n{RepositoryScript.Tail(run.Output)}");
            run = RepositoryScript.Run(output, Limit, "migrate-e2e");
        }

        run.AssertSucceeded("scripts/migrate-e2e", Limit);
        Assert.Contains("PASS: vm-b migrated to vm-a's host and back", run.Output);
        // Two migrations, each with the downtime QEMU reported.
        Assert.Equal(2, Regex.Matches(run.Output, @"migration of vm-b to host\d: completed, total \d+ ms .* downtime \d+ ms").Count);
        Match hosts = Regex.Match(run.Output, @"network: host 1 = netns (?<h1>\S+), host 2 = netns (?<h2>\S+),");
        Assert.True(hosts.Success, $"scripts/migrate-e2e did not name its namespaces:\n{RepositoryScript.Tail(run.Output)}");
        Assert.False(File.Exists("/run/netns/" + hosts.Groups["h1"].Value), $"namespace {hosts.Groups["h1"].Value} is left behind");
        Assert.False(File.Exists("/run/netns/" + hosts.Groups["h2"].Value), $"namespace {hosts.Groups["h2"].Value} is left behind");
    }

    /// <summary>A guest console in the script's output shows the guest's own kernel failing.</summary>
    private static bool GuestKernelCrashed(string output) =>
        output.Contains("Kernel panic - not syncing", StringComparison.Ordinal) || output.Contains("BUG: unable to handle page fault", StringComparison.Ordinal);
}
