using Ivshmem.Daemon.Configuration.Yaml;

namespace Ivshmem.Daemon.Configuration;

/// <summary>
/// Reads the YAML configuration into <see cref="DaemonOptions"/>, validating everything before
/// anything starts. Every problem becomes a <see cref="ConfigError"/> with file, line and column; all
/// of them are collected, not just the first (a YAML syntax error ends reading, though: past it the
/// structure is unknown).
/// </summary>
public static class ConfigLoader
{
    /// <summary>Reads and validates the file at <paramref name="path"/>. Defaults that depend on the
    /// environment ($RUNTIME_DIRECTORY) are taken from this process's environment.</summary>
    public static ConfigLoadResult Load(string path) => Load(path, DefaultPaths.RuntimeDirectoryFromEnvironment());

    /// <summary>As <see cref="Load(string)"/>, with the runtime directory to use when the file names none.</summary>
    public static ConfigLoadResult Load(string path, string defaultRuntimeDirectory)
    {
        var errors = new ConfigErrorSink(path);
        string? text = ConfigFileReader.ReadText(path, errors);
        return text is null ? ConfigLoadResult.Failure(errors.Sorted()) : Parse(text, path, defaultRuntimeDirectory);
    }

    /// <summary>Validates <paramref name="yamlText"/>; errors and <see cref="DaemonOptions.SourcePath"/>
    /// name <paramref name="fileNameForMessages"/>.</summary>
    public static ConfigLoadResult Parse(string yamlText, string fileNameForMessages) =>
        Parse(yamlText, fileNameForMessages, DefaultPaths.RuntimeDirectoryFromEnvironment());

    /// <summary>As <see cref="Parse(string, string)"/>, with the runtime directory to use when the text names none.</summary>
    public static ConfigLoadResult Parse(string yamlText, string fileNameForMessages, string defaultRuntimeDirectory)
    {
        var errors = new ConfigErrorSink(fileNameForMessages);
        ConfigNode? root = YamlTreeReader.Read(yamlText, errors);
        if (root is null && errors.HasErrors)
            return ConfigLoadResult.Failure(errors.Sorted()); // a syntax error: nothing more to check
        if (root is null or ConfigScalar { IsNull: true })
        {
            errors.Add(SourceMark.Start, "the configuration is empty; it needs at least a 'regions' list, e.g. 'regions: [{name: web-db, size: 64M, vms: [web, db]}]' (see 'ivshmemd check-config --help')");
            return ConfigLoadResult.Failure(errors.Sorted());
        }
        DaemonOptions? options = DaemonOptionsReader.Read(root, fileNameForMessages, defaultRuntimeDirectory, errors);
        return options is not null && !errors.HasErrors
            ? ConfigLoadResult.Success(options)
            : ConfigLoadResult.Failure(errors.Sorted());
    }
}
