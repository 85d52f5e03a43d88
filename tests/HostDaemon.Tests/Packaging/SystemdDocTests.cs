using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>docs/systemd.md says what the daemon does: the order of its notify datagrams (checked
/// against the real process in Systemd/NotifyTests).</summary>
public sealed class SystemdDocTests
{
    private static string Doc => File.ReadAllText(RepositoryLayout.SystemdDoc);

    /// <summary>The "The daemon sends" cell of the row of the notify table that starts with <paramref name="when"/>.</summary>
    private static string Sends(string when)
    {
        string row = Doc.Split('\n').Single(l => l.StartsWith("| " + when, StringComparison.Ordinal));
        return row.Split('|', StringSplitOptions.TrimEntries)[2];
    }

    [Fact]
    public void NotifyTableSaysStatusComesBeforeReadyAtStart()
    {
        // NotifyTests.ReadyComesAfterEverySocketListensAndStatusBeforeIt: STATUS=, then READY=1.
        string start = Sends("every region's memory exists");

        Assert.True(start.IndexOf("`STATUS=`", StringComparison.Ordinal) < start.IndexOf("`READY=1`", StringComparison.Ordinal), start);
    }

    [Fact]
    public void NotifyTableSaysReloadSendsReloadingThenStatusThenReady()
    {
        string reload = Sends("SIGHUP");
        int reloading = reload.IndexOf("`RELOADING=1`", StringComparison.Ordinal);
        int status = reload.IndexOf("`STATUS=`", StringComparison.Ordinal);
        int ready = reload.IndexOf("`READY=1`", StringComparison.Ordinal);

        Assert.True(reloading >= 0 && reloading < status && status < ready, reload);
    }
}
