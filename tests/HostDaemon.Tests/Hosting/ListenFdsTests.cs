using Ivshmem.Daemon.Hosting;

namespace Ivshmem.Daemon.Tests.Hosting;

/// <summary>sd_listen_fds(3) with names, as the restarted daemon reads what systemd passes.</summary>
public sealed class ListenFdsTests
{
    private static readonly Func<int, bool> AllOpen = _ => true;

    [Fact]
    public void FdsFromThreeOnAreNamedInOrderAndMadeCloseOnExec()
    {
        var cloexec = new List<int>();
        var fds = SystemdListenFds.Parse("42", "3", "a.memory:a.ledger:a.p0.socket", 42, AllOpen, cloexec.Add);

        Assert.Equal(3, fds.Take("a.memory"));
        Assert.Equal(4, fds.Take("a.ledger"));
        Assert.Equal(5, fds.Take("a.p0.socket"));
        Assert.Equal([3, 4, 5], cloexec);
    }

    [Fact]
    public void FdsMeantForAnotherProcessAreNotTaken()
    {
        var fds = SystemdListenFds.Parse("41", "2", "x:y", 42, AllOpen, _ => Assert.Fail("touched an fd that is not ours"));
        Assert.Equal(0, fds.Count);
    }

    [Fact]
    public void MissingNamesBecomeUnknownAndFdsThatAreNotOpenAreSkipped()
    {
        var fds = SystemdListenFds.Parse("7", "3", "only", 7, fd => fd != 4, _ => { });
        Assert.Equal(3, fds.Take("only"));
        Assert.Equal(-1, fds.Take("nothing"));
        Assert.Equal(5, fds.Take("unknown"));
        Assert.Equal(0, fds.Count);
    }
}
