using Ivshmem.TestPeer;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// A short hostile run (scripts/hostile runs the long one): whatever a third peer writes into the
/// control blocks, the peer table or the header, the reader sees the stream intact or a documented
/// error, never other bytes with a normal end, and two well-behaved peers talk again afterwards.
/// </summary>
public sealed class AttackCaseTests
{
    [Fact]
    public void ControlOnlyAttacksAreNeverSilentAndTheRingAlwaysRecovers()
    {
        AttackCases.Result result = AttackCases.RunCases(cases: 3000, seed: 20261205);
        string table = AttackCases.Table(result);

        Assert.True(result.Count(AttackCases.Outcome.SilentlyWrong, controlOnly: true) == 0, table);
        Assert.True(result.Count(AttackCases.Outcome.Undocumented, controlOnly: false) == 0, table);
        Assert.True(result.Recovered == result.Cases, table);
        // The attacks do bite: a run where nothing was ever detected tests nothing.
        Assert.True(result.Count(AttackCases.Outcome.Detected, controlOnly: true) > result.Cases / 10, table);
    }
}
