using System.CommandLine;
using System.CommandLine.Invocation;

namespace Ivshmem.Cli;

/// <summary>Replaces System.CommandLine's help (which has no room for exit status, files or
/// examples) with <see cref="ManPageWriter"/>, for whichever command --help was given to.
/// <paramref name="commandPath"/> names a command as the program says it ("ivshmemd qemu-args"),
/// whatever the executable is called.</summary>
internal sealed class ManPageHelpAction(IReadOnlyDictionary<Command, ManPage> pages, Func<Command, string> commandPath)
    : SynchronousCommandLineAction
{
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        Command command = parseResult.CommandResult.Command;
        if (!pages.TryGetValue(command, out var page))
            throw new InvalidOperationException($"command '{command.Name}' has no man page");
        ManPageWriter.Write(parseResult.InvocationConfiguration.Output, commandPath(command), command, page);
        return 0; // ExitCodes.Ok, in ivshmemd and ivshmem-agent alike
    }
}
