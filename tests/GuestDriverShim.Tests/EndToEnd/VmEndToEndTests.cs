using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.EndToEnd;

/// <summary>
/// The proof in real VMs: runs scripts/vm-e2e, which boots two QEMU guests against a real ivshmemd
/// and moves data between them (and from a host peer) through VFIO, doorbells and the ring, kills one
/// guest mid-transfer and lets a new one join. The script checks every step and prints the guests'
/// consoles on failure; this test passes when it does, and shows its whole output otherwise.
/// </summary>
[Collection(RealVmCollection.Name)]
public sealed class VmEndToEndTests(ITestOutputHelper output)
{
    /// <summary>Generous: a cold run builds the NativeAOT agent and may download the guest kernel;
    /// a warm run under software emulation takes about a minute.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(20);

    [Fact]
    public void TwoGuestsExchangeDataThroughIvshmemd()
    {
        ScriptResult run = RepositoryScript.Run(output, Limit, "vm-e2e");

        run.AssertSucceeded("scripts/vm-e2e", Limit);
        Assert.Contains("PASS: VFIO, peers by name", run.Output);
    }
}
