using System.Diagnostics;

namespace Ivshmem.Ring.Tests;

/// <summary>The adaptive spin of spin-then-block waits (docs/ring.md, "The spin budget").</summary>
public class SpinBudgetTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMicroseconds(50), Max = TimeSpan.FromMicroseconds(200);

    /// <summary>Feeds the budget waits that slept (microseconds in all) and checks the spin after each.</summary>
    private static void Expect(SpinBudget budget, params (double SleptUs, double SpinUs)[] steps)
    {
        foreach (var (slept, spin) in steps)
        {
            budget.Slept((long)(slept * 1e-6 * Stopwatch.Frequency));
            Assert.Equal(spin, budget.Ticks * 1e6 / Stopwatch.Frequency, tolerance: 0.01);
        }
    }

    [Fact]
    public void StartsAtTheMinimumAndDoublesUpToTheMaximumWhileSleepsEndWithinIt()
    {
        var budget = new SpinBudget(Min, Max);
        Assert.Equal(Min, Stopwatch.GetElapsedTime(0, budget.Ticks));
        Expect(budget, (120, 100), (190, 200), (150, 200));
    }

    [Fact]
    public void HalvesDownToTheMinimumWhenWaitsOutlastTheMaximum()
    {
        Expect(new SpinBudget(Min, Max), (100, 100), (100, 200), (5_000, 100), (1e6, 50), (1e6, 50));
    }

    [Fact]
    public void AMaximumNotAboveTheMinimumKeepsTheSpinFixed()
    {
        Expect(new SpinBudget(Min, TimeSpan.Zero), (10, 50), (10_000, 50));
    }

    [Fact]
    public void AZeroMinimumGrowsStraightToAQuarterOfTheMaximumAndShrinksToZero()
    {
        var budget = new SpinBudget(TimeSpan.Zero, Max);
        Assert.Equal(0, budget.Ticks);
        Expect(budget, (20, 50), (1_000, 25));
        for (int i = 0; i < 64; i++) budget.Slept(Stopwatch.Frequency);
        Assert.Equal(0, budget.Ticks);
    }
}
