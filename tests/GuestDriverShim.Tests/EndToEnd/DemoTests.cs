using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.EndToEnd;

/// <summary>
/// README's main-job command, <c>scripts/demo</c>, run as a newcomer runs it: ivshmemd on its built-in
/// demo configuration in a temporary directory, two ivshmem-agents joining the region as host peers
/// through its socket, a transfer between them with a checksum on each side, and a clean stop that
/// leaves nothing behind; and, given a wrong argument, a usage error before anything starts.
/// </summary>
public sealed partial class DemoTests(ITestOutputHelper output)
{
    /// <summary>A first run builds ivshmemd and ivshmem-agent (about two minutes on two busy cores); the
    /// demo itself takes seconds.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    [Fact]
    public void DemoStreamsBetweenTwoHostPeersWithMatchingChecksumsAndCleansUp()
    {
        ScriptResult run = RepositoryScript.Run(output, Limit, "demo", "16M");
        string text = run.Output;

        Assert.True(run.Finished, $"scripts/demo did not finish within {Limit.TotalMinutes} minutes:\n{RepositoryScript.Tail(text)}");
        Assert.True(run.ExitCode == 0, $"scripts/demo failed with exit status {run.ExitCode}:\n{RepositoryScript.Tail(text)}");

        Match daemon = DaemonLine().Match(text);
        Assert.True(daemon.Success, $"no '== ivshmemd run --demo DIR' line:\n{text}");
        string directory = daemon.Groups["dir"].Value;

        // The product's own host peer, not a test tool.
        Assert.Contains("ivshmem-agent --socket", text);
        Assert.DoesNotContain("ivshmem-host-peer", text);

        // Two distinct peers of the region, named as they asked, both successful.
        Match sender = PeerLine("sender", "demo-sender").Match(text);
        Match receiver = PeerLine("receiver", "demo-receiver").Match(text);
        Assert.True(sender.Success && receiver.Success, $"the peers' ids are not shown:\n{text}");
        Assert.NotEqual(sender.Groups["id"].Value, receiver.Groups["id"].Value);

        // Every byte, and the same checksum on both sides.
        Assert.Matches(@"(?m)^\s+bytes:\s+16777216 sent, 16777216 received$", text);
        Match hashes = Hashes().Match(text);
        Assert.True(hashes.Success, $"no xxh128 line:\n{text}");
        Assert.Equal(hashes.Groups["sent"].Value, hashes.Groups["received"].Value);
        // The speed says what it includes.
        Assert.Matches(@"(?m)^\s+speed:\s+[0-9.]+ [GMk]?B/s \(.*includes the XXH128 on both sides", text);

        // The daemon saw both join, and stopped cleanly.
        Assert.Contains("demo-sender", DaemonLog(text));
        Assert.Contains("demo-receiver", DaemonLog(text));
        Assert.Matches(@"(?m)^== OK: checksums match; ivshmemd stopped cleanly$", text);

        Assert.False(Directory.Exists(directory), $"the demo left its directory {directory} behind");
        string[] leftovers = RepositoryScript.ProcessesMentioning(directory);
        Assert.True(leftovers.Length == 0, $"processes left behind:\n{string.Join('\n', leftovers)}");
    }

    [Theory]
    [InlineData("--bogus", "demo: unknown option '--bogus' (see --help)")]
    [InlineData("0", "demo: the size must be at least 1 byte, not '0' (see --help)")]
    [InlineData("1X", "demo: '1X' is not a size; write bytes or a number with K, M, G, e.g. 256M (see --help)")]
    public void UsageErrorExits2BeforeAnythingStarts(string argument, string message)
    {
        string artifacts = Path.Combine(RepositoryScript.Root, "artifacts", "demo") + "/";
        string[] before = RepositoryScript.ProcessesMentioning(artifacts);

        ScriptResult run = RepositoryScript.Run(output, TimeSpan.FromMinutes(1), "demo", argument);

        Assert.True(run.Finished, $"scripts/demo {argument} did not finish within a minute:\n{run.Output}");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(message, run.Output.TrimEnd('\n'));
        // Nothing built, started or left running: no daemon or agent of the demo's build that was not
        // there before.
        string[] after = RepositoryScript.ProcessesMentioning(artifacts);
        string[] started = after.Except(before).ToArray();
        Assert.True(started.Length == 0, $"processes left behind:\n{string.Join('\n', started)}");
    }

    private static string DaemonLog(string text)
    {
        int start = text.IndexOf("== daemon log", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no daemon log shown:\n{text}");
        return text[start..];
    }

    private static Regex PeerLine(string role, string name) =>
        new($@"(?m)^\s+{role}:\s+{Regex.Escape(name)}, peer id (?<id>\d+), exit status 0$");

    [GeneratedRegex(@"(?m)^== ivshmemd run --demo (?<dir>/tmp/ivshmemd-demo\.\w+)$")]
    private static partial Regex DaemonLine();

    [GeneratedRegex(@"(?m)^\s+xxh128:\s+(?<sent>[0-9a-f]{32}) sent, (?<received>[0-9a-f]{32}) received$")]
    private static partial Regex Hashes();
}
