using System.CommandLine;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Control;

namespace Ivshmem.Daemon.Cli;

/// <summary><c>ivshmemd status</c>: ask the running daemon through its control socket.</summary>
internal static class StatusCommand
{
    public static (Command, ManPage) Create()
    {
        var socket = new Option<string>("--socket", "-s")
        {
            Description = "The daemon's control socket (control_socket in its configuration).",
            HelpName = "PATH",
            DefaultValueFactory = _ => DefaultPaths.ControlSocket,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text, for scripts." };
        var command = new Command("status", Page.Summary) { socket, json };
        command.SetAction((parseResult, cancellationToken) =>
            StatusClient.RunAsync(parseResult.GetRequiredValue(socket), parseResult.GetValue(json),
                parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, cancellationToken));
        return (command, Page);
    }

    private static readonly ManPage Page = new()
    {
        Summary = "show the regions and peers of the running daemon",
        Synopsis = ["ivshmemd status [--socket PATH] [--json]"],
        Description =
        [
            "Connects to the running daemon's control socket and prints, for every region, its size, backing, socket and vectors, and every connected peer: its id, VM name (or host user), process id, and since when it is connected. Also says which configuration is loaded and whether the last reload failed.",
            "The control socket is readable by the daemon's user and by the group set as control_group in the configuration; add yourself to that group to use this command without root.",
        ],
        ExitStatus =
        [
            .. RootManPage.StandardExitStatus("the status is on standard output",
                "the daemon answered something that is not a status report, or PATH cannot be a socket; the reason is on standard error"),
            new(RootManPage.Code(ExitCodes.Unavailable), "EX_UNAVAILABLE: no daemon answers on PATH: there is no such socket, nothing listens on it (a socket file left behind by a daemon that was killed), or it did not answer within 5 seconds. One line on standard error says which; is ivshmemd running, with this control socket?"),
            new(RootManPage.Code(ExitCodes.NoPermission), "EX_NOPERM: no permission to connect to PATH: run it as root or as a member of the daemon's control_group."),
        ],
        Files = [new(DefaultPaths.ControlSocket, "Default control socket.")],
        Examples =
        [
            new("ivshmemd status", "Show what the packaged service serves."),
            new("ivshmemd status --socket /tmp/ivshmemd-demo/control.sock --json", "Ask a demo daemon, for a script."),
        ],
        SeeAlso = ["ivshmemd run --help", "systemctl status ivshmemd"],
    };
}
