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
