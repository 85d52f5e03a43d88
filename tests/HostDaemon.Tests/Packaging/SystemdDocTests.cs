using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>docs/systemd.md says what the daemon does: every exit status, and the order of its notify
/// datagrams (checked against the real process in Systemd/NotifyTests).</summary>
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
    public void ExitStatusSectionHasARowForEveryExitCode()
    {
        string doc = Doc;
        int start = doc.IndexOf("\n## EXIT STATUS\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/systemd.md has no EXIT STATUS section");
        int end = doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        string section = end < 0 ? doc[start..] : doc[start..end];

        var codes = typeof(ExitCodes).GetFields().Where(f => f.IsLiteral).Select(f => (int)f.GetRawConstantValue()!).ToList();
        Assert.Contains(ExitCodes.Config, codes);
        foreach (int code in codes)
            Assert.Contains($"\n| {code} |", section);
        Assert.Contains("RestartPreventExitStatus=2 78", section);
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
