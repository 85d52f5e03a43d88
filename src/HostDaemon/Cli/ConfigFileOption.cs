using System.CommandLine;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Cli;

/// <summary>The --config option the commands that read a configuration share, and loading it with
/// errors reported the same way everywhere.</summary>
internal static class ConfigFileOption
{
    public static Option<string> Create() => new("--config", "-c")
    {
        Description = "The configuration file to read.",
        HelpName = "FILE",
        DefaultValueFactory = _ => DefaultPaths.ConfigFile,
    };

    /// <summary>--demo DIR: the built-in demo configuration (what 'ivshmemd run --demo DIR' serves)
    /// instead of a file.</summary>
    public static Option<string> CreateDemo(string description) => new("--demo")
    {
        Description = description,
        HelpName = "DIR",
    };

    /// <summary>Makes --config and --demo on <paramref name="command"/> a usage error when both are given.</summary>
    public static void ExcludeEachOther(Command command, Option<string> config, Option<string> demo, string why) =>
        command.Validators.Add(result =>
        {
            if (result.GetResult(demo) is not null && result.GetResult(config) is { Implicit: false })
                result.AddError($"--config and --demo exclude each other: {why}");
        });

    /// <summary>The built-in demo configuration for --demo DIR when it was given, else the validated
    /// file of --config; null after writing the errors to <paramref name="error"/>.</summary>
    public static DaemonOptions? LoadOrReport(ParseResult parseResult, Option<string> config, Option<string> demo, TextWriter error, string commandPath)
    {
        if (parseResult.GetValue(demo) is { } directory)
        {
            try
            {
                return DefaultConfiguration.Create(directory);
            }
            catch (ArgumentException ex)
            {
                error.WriteLine($"{commandPath}: error: {ex.Message.Replace(" (Parameter 'runtimeDirectory')", "")}");
                return null;
            }
        }
        return LoadOrReport(parseResult.GetRequiredValue(config), error, commandPath);
    }

    /// <summary>The exit status after <see cref="LoadOrReport(ParseResult, Option{string}, Option{string}, TextWriter, string)"/>
    /// failed: EX_CONFIG for a configuration file, as 'run' and 'check-config' exit for the same file;
    /// 1 for a --demo directory that cannot hold sockets (not a configuration anyone wrote).</summary>
    public static int LoadFailureExitCode(ParseResult parseResult, Option<string> demo) =>
        parseResult.GetValue(demo) is null ? ExitCodes.Config : ExitCodes.Failure;

    /// <summary>The validated options, or null after writing every error (GCC style, one per line)
    /// and a count to <paramref name="error"/>.</summary>
    public static DaemonOptions? LoadOrReport(string path, TextWriter error, string commandPath)
    {
        ConfigLoadResult result = ConfigLoader.Load(path);
        if (result.Succeeded)
            return result.Options;
        foreach (ConfigError configError in result.Errors)
            error.WriteLine(configError.ToString());
        int count = result.Errors.Count;
        error.WriteLine($"{commandPath}: {count} error{(count == 1 ? "" : "s")} in {path}");
        return null;
    }
}
