using Ivshmem.Daemon.Hosting;

namespace Ivshmem.Daemon.Tests.Hosting;

/// <summary>sd_watchdog_enabled(3): ping at half of WATCHDOG_USEC, only when meant for this process.</summary>
public sealed class WatchdogIntervalTests
{
    [Fact]
    public void PingIntervalIsHalfOfWatchdogUsec() =>
        Assert.Equal(TimeSpan.FromSeconds(15), WatchdogService.Interval("30000000", null, 5));

    [Fact]
    public void WatchdogForAnotherPidOrWithoutAValidIntervalIsOff()
    {
        Assert.Null(WatchdogService.Interval("30000000", "6", 5));
        Assert.Null(WatchdogService.Interval(null, null, 5));
        Assert.Null(WatchdogService.Interval("soon", null, 5));
        Assert.Null(WatchdogService.Interval("0", null, 5));
        Assert.Equal(TimeSpan.FromSeconds(1), WatchdogService.Interval("2000000", "5", 5));
    }
}
