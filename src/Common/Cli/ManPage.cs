namespace Ivshmem.Cli;

/// <summary>
/// The parts of a command's --help that System.CommandLine has no place for: what the command does
/// in full, exit status, files, environment, examples. Arguments and options are taken from the
/// command itself, so they cannot drift from what the parser accepts.
/// Text is wrapped by <see cref="ManPageWriter"/>; a paragraph whose lines start with a space is
/// printed as it is (examples of YAML or output).
/// </summary>
internal sealed record ManPage
{
    /// <summary>One line, as in NAME: "validate a configuration file".</summary>
    public required string Summary { get; init; }

    public required IReadOnlyList<string> Synopsis { get; init; }

    /// <summary>Paragraphs.</summary>
    public required IReadOnlyList<string> Description { get; init; }

    public IReadOnlyList<ManEntry> ExitStatus { get; init; } = [];
    public IReadOnlyList<ManEntry> Environment { get; init; } = [];
    public IReadOnlyList<ManEntry> Files { get; init; } = [];

    /// <summary>Command line (tag) and what it does.</summary>
    public IReadOnlyList<ManEntry> Examples { get; init; } = [];

    public IReadOnlyList<string> SeeAlso { get; init; } = [];
}

/// <summary>A tagged paragraph: an exit code, a path, an example command line.</summary>
internal sealed record ManEntry(string Tag, string Text);
