using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace Ivshmem.Cli;

/// <summary>
/// What ivshmemd and ivshmem-agent do alike around System.CommandLine: every command has its man
/// page behind --help, a command is named as the program says it whatever the executable is called
/// (tests run in testhost), and a usage error is one line per error and a pointer to --help.
/// </summary>
internal static class CommandLineShell
{
    /// <summary>Adds <paramref name="commands"/> to <paramref name="root"/>, puts each man page (and
    /// <paramref name="rootPage"/>, and those of <paramref name="subcommandPages"/>: commands the
    /// commands already hold, as 'net status') behind --help, and makes a bare program name a usage
    /// error that lists the commands (exit status <paramref name="usageExitCode"/>).</summary>
    public static void AddCommands(RootCommand root, string programName, ManPage rootPage, int usageExitCode,
        IEnumerable<(Command Command, ManPage Page)> commands, IEnumerable<(Command Command, ManPage Page)>? subcommandPages = null)
    {
        var pages = new Dictionary<Command, ManPage> { [root] = rootPage };
        foreach (var (command, page) in commands)
        {
            root.Add(command);
            pages.Add(command, page);
        }
        foreach (var (command, page) in subcommandPages ?? []) pages.Add(command, page);
        foreach (var help in root.Options.OfType<HelpOption>())
            help.Action = new ManPageHelpAction(pages, command => CommandPath(programName, command));
        root.SetAction(parseResult =>
        {
            // A bare program name is a usage error, but a friendly one.
            var error = parseResult.InvocationConfiguration.Error;
            error.WriteLine($"{programName}: error: no command given; use one of: {string.Join(", ", root.Subcommands.Select(c => c.Name))}");
            error.WriteLine($"Try '{programName} --help' for more information.");
            return usageExitCode;
        });
    }

    /// <summary>"ivshmemd qemu-args", for messages.</summary>
    public static string CommandPath(string programName, Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
            names.Add(c is RootCommand ? programName : c.Name);
        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>Each parse error on a line of its own, then where to look.</summary>
    public static void WriteUsageErrors(string programName, ParseResult result, TextWriter error)
    {
        string path = CommandPath(programName, result.CommandResult.Command);
        foreach (ParseError parseError in result.Errors)
            error.WriteLine($"{path}: error: {parseError.Message.Replace("\r", "").Replace("\n\t", " ").TrimEnd()}");
        error.WriteLine($"Try '{path} --help' for more information.");
    }
}
