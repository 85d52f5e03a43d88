using System.CommandLine;
using System.CommandLine.Invocation;

namespace Ivshmem.Daemon.Cli;

/// <summary>
/// The <c>ivshmemd</c> command line: builds the commands, parses, and runs one. Program.cs only calls
/// <see cref="RunAsync"/>; tests call it too, with their own writers, so what they check is exactly
/// what a user sees.
/// </summary>
public static class CommandLineApp
{
    public const string ProgramName = "ivshmemd";

    /// <summary>Parses <paramref name="args"/> and runs the command. Help and results go to
    /// <paramref name="output"/>, errors to <paramref name="error"/>; returns the exit status
    /// (<see cref="ExitCodes"/>). Usage errors are answered with exit status 2 before anything runs.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        RootCommand root = Build();
        ParseResult result = root.Parse(args, new ParserConfiguration
        {
            // "@file" would read arguments from a file; VM names and paths are data, never that.
            ResponseFileTokenReplacer = null,
        });
        if (result.Action is ParseErrorAction)
        {
            CommandLineShell.WriteUsageErrors(ProgramName, result, error);
            return ExitCodes.Usage;
        }
        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // SIGTERM/SIGINT belong to the daemon's host (systemd lifetime), not to the parser: with a
            // timeout set, System.CommandLine would install its own handlers and force an exit.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await result.InvokeAsync(invocation, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Failure;
        }
        catch (Exception ex)
        {
            await error.WriteLineAsync($"{CommandPath(result.CommandResult.Command)}: internal error: {ex}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>The command tree, every command with its man page behind --help.</summary>
    internal static RootCommand Build()
    {
        var root = new RootCommand(RootManPage.Page.Summary);
        CommandLineShell.AddCommands(root, ProgramName, RootManPage.Page, ExitCodes.Usage,
        [
            RunCommand.Create(),
            CheckConfigCommand.Create(),
            QemuArgsCommand.Create(),
            LibvirtXmlCommand.Create(),
            StatusCommand.Create(),
            AttachCommand.Create(),
            DetachCommand.Create(),
            DoctorCommand.Create(),
        ]);
        return root;
    }

    /// <summary>"ivshmemd qemu-args" for messages, whatever the executable is called (tests run in testhost).</summary>
    internal static string CommandPath(Command command) => CommandLineShell.CommandPath(ProgramName, command);
}
