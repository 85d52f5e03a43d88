using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Ivshmem.Peer.Tests.EndToEnd;

/// <summary>
/// README's main-job command, <c>scripts/demo</c>, run as a newcomer runs it: ivshmemd on its built-in
/// demo configuration in a temporary directory, two host peers joining the region through its socket,
/// a stream between them with a checksum on each side, and a clean stop that leaves nothing behind.
/// </summary>
public sealed partial class DemoTests(ITestOutputHelper output)
{
    /// <summary>A first run builds ivshmemd and the demo peer (about a minute on two cores); the demo
    /// itself takes seconds.</summary>
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

        // Two distinct peers of the region, named as they asked.
        Match sender = PeerLine("sender", "demo-sender").Match(text);
        Match receiver = PeerLine("receiver", "demo-receiver").Match(text);
        Assert.True(sender.Success && receiver.Success, $"the peers' ids and slots are not shown:\n{text}");
        Assert.NotEqual(sender.Groups["id"].Value, receiver.Groups["id"].Value);
        Assert.NotEqual(sender.Groups["slot"].Value, receiver.Groups["slot"].Value);

        // Every byte, and the same checksum on both sides.
        Assert.Matches(@"(?m)^\s+bytes:\s+16777216 sent, 16777216 received$", text);
        Match hashes = Hashes().Match(text);
        Assert.True(hashes.Success, $"no xxhash3 line:\n{text}");
        Assert.Equal(hashes.Groups["sent"].Value, hashes.Groups["received"].Value);
        Assert.Matches(@"(?m)^\s+speed:\s+[0-9.]+ MB/s", text);

        // The daemon saw both join, and stopped cleanly.
        Assert.Contains("demo-sender", DaemonLog(text));
        Assert.Contains("demo-receiver", DaemonLog(text));
        Assert.Matches(@"(?m)^== OK: checksums match; ivshmemd stopped cleanly$", text);

        Assert.False(Directory.Exists(directory), $"the demo left its directory {directory} behind");
        string[] leftovers = RepositoryScript.ProcessesMentioning(directory);
        Assert.True(leftovers.Length == 0, $"processes left behind:\n{string.Join('\n', leftovers)}");
    }

    private static string DaemonLog(string text)
    {
        int start = text.IndexOf("== daemon log", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no daemon log shown:\n{text}");
        return text[start..];
    }

    private static Regex PeerLine(string role, string name) =>
        new($@"(?m)^\s+{role}:\s+peer id (?<id>\d+) in slot (?<slot>\d+) \({Regex.Escape(name)}\)$");

    [GeneratedRegex(@"(?m)^== ivshmemd run --demo (?<dir>/tmp/ivshmemd-demo\.\w+)$")]
    private static partial Regex DaemonLine();

    [GeneratedRegex(@"(?m)^\s+xxhash3:\s+(?<sent>[0-9a-f]+) sent, (?<received>[0-9a-f]+) received$")]
    private static partial Regex Hashes();
}
