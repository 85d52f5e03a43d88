using Ivshmem.Daemon.Cli;

namespace Ivshmem.Daemon.Tests.Cli;

/// <summary>What one run of the command line produced.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public IReadOnlyList<string> OutputLines => Lines(Output);
    public IReadOnlyList<string> ErrorLines => Lines(Error);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout:\n{Output}--- stderr:\n{Error}";
}

/// <summary>Runs <c>ivshmemd</c> in-process through the same entry point as Program.cs, with
/// captured output.</summary>
internal static class CliRunner
{
    public static async Task<CliResult> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CommandLineApp.RunAsync(args, output, error);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
