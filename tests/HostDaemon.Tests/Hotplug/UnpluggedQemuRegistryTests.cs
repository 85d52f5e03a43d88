using System.Diagnostics;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Tests.Hotplug;

/// <summary>The daemon's list of QEMU processes that lost a device, with real processes standing in
/// for QEMU (any process has a pid and a start time): it keeps those that run, forgets those that
/// exited, is not fooled by a pid that comes back, and survives a restart through its file.</summary>
public sealed class UnpluggedQemuRegistryTests
{
    [Fact]
    public void ARecordedProcessIsListedWhileItRunsAlsoByANewRegistryAndDroppedOnceItExits()
    {
        using var dir = new TestDirectory();
        using Process standIn = Process.Start("sleep", "600");
        QemuProcessIdentity identity = QemuProcessIdentity.Of(standIn.Id)!.Value;
        var registry = new UnpluggedQemuRegistry(dir.Path, new CapturingLogger());

        registry.Record(identity, "vm-a", "q", 7);

        UnpluggedQemu entry = Assert.Single(registry.Current());
        Assert.Equal((identity, "vm-a", "q", 7), (entry.Process, entry.Vm, entry.Region, entry.PeerId));
        var restarted = new UnpluggedQemuRegistry(dir.Path, new CapturingLogger());
        restarted.Load();
        Assert.Equal(identity, Assert.Single(restarted.Current()).Process);

        standIn.Kill();
        standIn.WaitForExit();

        Assert.Empty(restarted.Current());
        Assert.Equal("", File.ReadAllText(restarted.FilePath)); // and the file forgets it too
    }

    [Fact]
    public void AProcessThatHasAlreadyExitedIsNotRecorded()
    {
        using var dir = new TestDirectory();
        using Process gone = Process.Start("true");
        QemuProcessIdentity? identity = QemuProcessIdentity.Of(gone.Id);
        gone.WaitForExit();
        var registry = new UnpluggedQemuRegistry(dir.Path, new CapturingLogger());

        registry.Record(identity ?? new QemuProcessIdentity(gone.Id, 1), "vm-a", "q", 1);
        registry.Record(null, "vm-b", "q", 2); // /proc could not tell at admission

        Assert.Empty(registry.Current());
    }

    [Fact]
    public void APidThatCameBackAsAnotherProcessDoesNotMatch()
    {
        using var dir = new TestDirectory();
        QemuProcessIdentity self = QemuProcessIdentity.Of(Environment.ProcessId)!.Value;
        var reused = new UnpluggedQemu(self with { StartTime = self.StartTime + 1 }, "vm-a", "q", 3, DateTimeOffset.UtcNow);
        File.WriteAllLines(Path.Combine(dir.Path, UnpluggedQemuRegistry.FileName),
            [UnpluggedQemuRegistry.FormatLine(reused), "not a line", "1 2 3", UnpluggedQemuRegistry.FormatLine(reused with { Process = self, Vm = "vm with spaces" })]);
        var registry = new UnpluggedQemuRegistry(dir.Path, new CapturingLogger());

        registry.Load();

        UnpluggedQemu kept = Assert.Single(registry.Current());
        Assert.Equal((self, "vm with spaces"), (kept.Process, kept.Vm));
        Assert.False(reused.Process.IsRunning());
    }

    [Theory]
    [InlineData("4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 1 0 0 0 5 3 0 0 20 0 3 0 987654 1 2 3", 987654UL)]
    [InlineData("4242 (a (b) c) R 1 4242 4242 0 -1 4194560 1 0 0 0 5 3 0 0 20 0 3 0 55 1 2 3", 55UL)] // ')' inside the name
    [InlineData("4242 (qemu) Z 1 4242 4242 0 -1 4194560 1 0 0 0 5 3 0 0 20 0 3 0 55 1 2 3", null)]   // a zombie runs nothing
    [InlineData("4242 (qemu) S 1 2 3", null)]
    [InlineData("garbage", null)]
    public void StartTimeIsField22CountedFromTheLastParenthesis(string stat, ulong? startTime) =>
        Assert.Equal(startTime, QemuProcessIdentity.Parse(4242, stat)?.StartTime);
}
