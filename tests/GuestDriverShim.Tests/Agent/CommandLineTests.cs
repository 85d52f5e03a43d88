using Ivshmem.Cli;
using Ivshmem.Agent.Cli;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Transfer;
using Ivshmem.Ring;

using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests.Agent;

/// <summary>The command line as a user meets it: help pages, usage errors, exit codes.</summary>
public sealed class CommandLineTests
{
    /// <summary>Runs the agent's command line in process: exit code, standard output, standard error.</summary>
    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = AgentApp.RunAsync(args, output, error).GetAwaiter().GetResult();
        return (code, output.ToString(), error.ToString());
    }

    public static TheoryData<string> Commands => ["list", "info", "send", "recv", "ping", "bench", "forward", "net"];

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryCommandsHelpReadsLikeAManPage(string command)
    {
        var (code, output, _) = Run(command, "--help");

        Assert.Equal(0, code);
        foreach (string section in new[] { "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES" })
            Assert.Contains("\n" + section + "\n", "\n" + output);
        Assert.Contains($"ivshmem-agent {command} - ", output);
        Assert.All(output.Split('\n'), line => Assert.True(line.Length <= 80, $"longer than 80 columns: '{line}'"));
    }

    [Fact]
    public void TheRootHelpListsEveryCommand()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (string command in Commands) Assert.Contains("\n       " + command + "\n", output);
    }

    [Theory]
    [InlineData("ivshmem-agent send: error: Option '--to' is required.", "send", "file.bin")]
    [InlineData("give exactly one of --to PEER, --tcp HOST:PORT or --serve", "ping")]
    [InlineData("--serve needs either --from PEER (ring) or --tcp-listen PORT (TCP)", "bench", "--serve")]
    [InlineData("--from, --tcp-listen and --once go with --serve", "ping", "--to", "vm-b", "--once")]
    [InlineData("'12X' is not a size", "bench", "--to", "vm-b", "--bytes", "12X")]
    [InlineData("'fast' is not a wait mode", "recv", "--from", "vm-a", "--wait-mode", "fast")]
    [InlineData("give either --listen ADDR --to PEER, or --connect ADDR --from PEER", "forward", "--to", "vm-b")]
    [InlineData("--listen goes with --to PEER", "forward", "--listen", "8080", "--from", "vm-b")]
    [InlineData("'maybe' is not valid", "list", "--access", "maybe")]
    [InlineData("no command given", new string[0])]
    public void UsageErrorsExitWith2AndSayWhatIsWrong(string expected, params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Empty(output);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void ExceptionsMapToTheDocumentedExitCodes()
    {
        Assert.Equal(ExitCodes.PeerGone, AgentApp.Classify(new PeerGoneException("gone")).Code);
        Assert.Equal(ExitCodes.ChecksumMismatch, AgentApp.Classify(new ChecksumMismatchException("x")).Code);
        Assert.Equal(ExitCodes.Failure, AgentApp.Classify(new TimeoutException("slow")).Code);
        Assert.Equal(ExitCodes.Failure, AgentApp.Classify(new IvshmemDeviceException("no device")).Code);
        Assert.StartsWith("internal error", AgentApp.Classify(new NullReferenceException()).Message);
    }

    [Fact]
    public void ASendOfAMissingFileSaysSoBeforeTouchingAnyDevice()
    {
        var (code, _, error) = Run("send", "/nonexistent/file", "--to", "vm-b");
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("cannot read /nonexistent/file", error);
    }

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("64K", 64L << 10)]
    [InlineData("64M", 64L << 20)]
    [InlineData("2g", 2L << 30)]
    [InlineData("1T", 1L << 40)]
    [InlineData("64MiB", 64L << 20)] // as the configuration writes it (one parser: src/Common/Cli/ByteSize.cs)
    public void SizesAreBytesOrPowersOf1024(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out long parsed, out _));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("M")]
    [InlineData("64MB")]
    [InlineData("-1")]
    [InlineData("1.5G")]
    [InlineData("99999999999T")]
    public void OtherSizesAreRefused(string text) => Assert.False(ByteSize.TryParse(text, out _, out _));

    [Theory]
    [InlineData("tcp:127.0.0.1:80", "127.0.0.1:80")]
    [InlineData("10.0.0.2:5201", "10.0.0.2:5201")]
    [InlineData("[::1]:22", "[::1]:22")]
    public void ConnectAddressesAreTcpOrUnix(string text, string expected) => Assert.Equal(expected, Addresses.ParseConnect(text).ToString());

    [Fact]
    public void AListenAddressWithoutHostIsLoopbackOnly() => Assert.Equal("127.0.0.1:8080", Addresses.ParseListen(":8080").ToString());

    [Fact]
    public void UnixSocketPathsAreRecognised()
    {
        Assert.IsType<System.Net.Sockets.UnixDomainSocketEndPoint>(Addresses.ParseConnect("unix:/run/x.sock"));
        Assert.IsType<System.Net.Sockets.UnixDomainSocketEndPoint>(Addresses.ParseListen("/run/x.sock"));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("host:port")]
    [InlineData(":0")]
    [InlineData(":70000")]
    public void BadAddressesAreRefused(string text) =>
        Assert.Throws<ArgumentException>(() => Addresses.ParseConnect(text));
}
