using System.CommandLine;
using System.CommandLine.Invocation;

namespace Ivshmem.Agent.Cli;

/// <summary>Replaces System.CommandLine's help with a man page (<see cref="ManPageWriter"/>) for
/// whichever command --help was given to.</summary>
internal sealed class ManPageHelpAction(IReadOnlyDictionary<Command, ManPage> pages) : SynchronousCommandLineAction
{
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        Command command = parseResult.CommandResult.Command;
        if (!pages.TryGetValue(command, out var page))
            throw new InvalidOperationException($"command '{command.Name}' has no man page");
        ManPageWriter.Write(parseResult.InvocationConfiguration.Output, AgentApp.CommandPath(command), command, page);
        return ExitCodes.Ok;
    }
}
