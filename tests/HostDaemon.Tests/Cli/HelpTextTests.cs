using System.CommandLine;
using Ivshmem.Daemon.Cli;

namespace Ivshmem.Daemon.Tests.Cli;

/// <summary>Every --help reads like a man page: the usual sections in the usual order, every option
/// with its default, the three exit codes, and nothing wider than a terminal.</summary>
public sealed class HelpTextTests
{
    public static TheoryData<string> Commands() => ["", "run", "check-config", "qemu-args", "libvirt-xml", "status", "attach", "detach", "doctor"];

    private static Task<CliResult> HelpAsync(string command, string flag = "--help") =>
        command == "" ? CliRunner.RunAsync(flag) : CliRunner.RunAsync(command, flag);

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task HelpHasTheManPageSectionsInOrder(string command)
    {
        CliResult result = await HelpAsync(command);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Equal("", result.Error);
        string[] sections = result.OutputLines.Where(l => l.Length > 0 && char.IsAsciiLetterUpper(l[0])).ToArray();
        string[] expected = command == ""
            ? ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"]
            : ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO"];
        Assert.Equal(expected, sections.Where(s => s is not ("ARGUMENTS" or "ENVIRONMENT") || expected.Contains(s)));
        string name = command == "" ? "ivshmemd" : $"ivshmemd {command}";
        Assert.StartsWith($"       {name} - ", result.OutputLines[1]);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task HelpFitsInEightyColumns(string command)
    {
        CliResult result = await HelpAsync(command);

        Assert.All(result.Output.Split('\n'), line => Assert.True(line.Length <= 80, $"{line.Length} columns: {line}"));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task HelpListsTheThreeExitCodes(string command)
    {
        CliResult result = await HelpAsync(command);
        string exitStatus = Section(result.Output, "EXIT STATUS");

        Assert.Matches(@"(?m)^       0      \S", exitStatus);
        Assert.Matches(@"(?m)^       1      \S", exitStatus);
        Assert.Matches(@"(?m)^       2      Usage error", exitStatus);
    }

    [Theory]
    [InlineData("", new[] { 69, 77, 78 })]
    [InlineData("run", new[] { 78 })]
    [InlineData("check-config", new[] { 78 })]
    [InlineData("status", new[] { 69, 77 })]
    [InlineData("attach", new[] { 3, 69, 77, 78 })]
    [InlineData("detach", new[] { 69, 75, 77, 78 })]
    public async Task HelpListsTheSysexitsCodesTheCommandUses(string command, int[] codes)
    {
        CliResult result = await HelpAsync(command);
        string exitStatus = Section(result.Output, "EXIT STATUS");

        foreach (int code in codes)
            Assert.Matches($@"(?m)^       {code} +\S", exitStatus);
        if (codes.Contains(ExitCodes.Config))
            Assert.Contains("EX_CONFIG: ", Unwrapped(exitStatus));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task HelpDescribesEveryOptionAndArgumentWithItsDefault(string command)
    {
        Command parsed = command == "" ? CommandLineApp.Build() : CommandLineApp.Build().Subcommands.Single(c => c.Name == command);
        CliResult result = await HelpAsync(command);
        string options = Section(result.Output, "OPTIONS");

        foreach (Option option in parsed.Options.Where(o => !o.Hidden))
        {
            Assert.Contains(option.Name, options);
            if (option.HasDefaultValue && option.ValueType != typeof(bool))
                Assert.Contains($"(default: {option.GetDefaultValue()})", Unwrapped(options));
        }
        foreach (Argument argument in parsed.Arguments)
        {
            string arguments = Section(result.Output, "ARGUMENTS");
            Assert.Contains(argument.Name, arguments);
            Assert.False(string.IsNullOrWhiteSpace(argument.Description));
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task ShortHelpFlagGivesTheSamePage(string command)
    {
        CliResult longForm = await HelpAsync(command);
        CliResult shortForm = await HelpAsync(command, "-h");

        Assert.Equal(longForm.Output, shortForm.Output);
    }

    [Fact]
    public async Task RootHelpListsEverySubcommand()
    {
        CliResult result = await HelpAsync("");
        string commands = Section(result.Output, "COMMANDS");

        foreach (string command in new[] { "run", "check-config", "qemu-args", "libvirt-xml", "status", "doctor" })
            Assert.Matches($"(?m)^       {command}$", commands);
    }

    [Fact]
    public async Task HelpShowsOnlyUnixStyleHelpFlags()
    {
        CliResult result = await HelpAsync("status");

        Assert.Contains("       -h, --help\n", result.Output);
        Assert.DoesNotContain("/?", result.Output);
    }

    /// <summary>The body of one section, up to the next heading.</summary>
    private static string Section(string help, string heading)
    {
        int start = help.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {heading} section");
        int bodyStart = start + heading.Length + 2;
        int end = help.IndexOf("\n\n", bodyStart, StringComparison.Ordinal);
        while (end >= 0 && end + 2 < help.Length && !char.IsAsciiLetterUpper(help[end + 2]))
            end = help.IndexOf("\n\n", end + 2, StringComparison.Ordinal);
        return end < 0 ? help[bodyStart..] : help[bodyStart..end];
    }

    private static string Unwrapped(string text) => string.Join(' ', text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
