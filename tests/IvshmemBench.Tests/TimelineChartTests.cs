namespace Ivshmem.Bench.Tests;

/// <summary>The migration chart (<c>ivshmem-bench --timeline-chart</c>) drawn by the real program from a
/// timeline file of the shape scripts/migrate-e2e writes.</summary>
public sealed class TimelineChartTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ivshmem-bench-timeline-").FullName;

    [Fact]
    public void ATimelineBecomesAPngAndAnSvgWithItsEventsMarked()
    {
        string timeline = Path.Combine(_directory, "timeline.json");
        File.WriteAllText(timeline, """
            {"title": "iperf3 vm-a -> vm-b across a migration",
             "seconds": [{"t": 1, "mbps": 700, "network_mbps": 700, "ring_mbps": 0},
                         {"t": 2, "mbps": 120, "network_mbps": 120},
                         {"t": 3, "mbps": 450, "ring_mbps": 440, "network_mbps": 10}],
             "events": [{"t": 1.5, "label": "migration completed"}, {"t": 2.4, "label": "device attached"}]}
            """);
        string basePath = Path.Combine(_directory, "out", "migration");

        var (exitCode, _, stderr) = BenchProcess.Run("--timeline-chart", timeline, "--out", basePath);

        Assert.True(exitCode == 0, $"ivshmem-bench exited {exitCode}\n{stderr}");
        byte[] png = File.ReadAllBytes(basePath + ".png");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        string svg = File.ReadAllText(basePath + ".svg");
        Assert.Contains("<svg", svg);
        Assert.Contains("migration completed", svg);
        Assert.Contains("device attached", svg);
        Assert.Contains("through the ring", svg);
    }

    [Fact]
    public void ATimelineWithoutSecondsIsRefusedWithTheFileNamed()
    {
        string timeline = Path.Combine(_directory, "empty.json");
        File.WriteAllText(timeline, """{"title": "nothing", "seconds": []}""");

        var (exitCode, _, stderr) = BenchProcess.Run("--timeline-chart", timeline, "--out", Path.Combine(_directory, "x"));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("empty.json: 'seconds' is empty", stderr);
        Assert.False(File.Exists(Path.Combine(_directory, "x.png")));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
