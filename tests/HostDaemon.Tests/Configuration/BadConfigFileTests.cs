using System.Text.RegularExpressions;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Tests.Configuration;

/// <summary>
/// Every file in TestData/bad-configs is a malformed configuration; its sibling .expected file holds
/// the exact errors (GCC style, file name without directory) that loading it must produce, all of
/// them and nothing else.
/// </summary>
public sealed partial class BadConfigFileTests
{
    // Paths in messages are deterministic only with a fixed default runtime directory.
    private const string RuntimeDirectory = "/run/ivshmemd";

    [GeneratedRegex(@"^[^:]+:\d+:\d+: error: .+; .+$")]
    private static partial Regex GccStyleWithRemedy();

    public static TheoryData<string> BadConfigs()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(RepositoryLayout.BadConfigs, "*.yaml").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void LoadRejectsTheFileWithExactlyTheExpectedErrors(string fileName)
    {
        string path = Path.Combine(RepositoryLayout.BadConfigs, fileName);
        string[] expected = File.ReadAllLines(Path.ChangeExtension(path, ".expected"))
            .Where(line => line.Length > 0).ToArray();

        ConfigLoadResult result = ConfigLoader.Load(path, RuntimeDirectory);

        Assert.False(result.Succeeded);
        Assert.Null(result.Options);
        string[] actual = result.Errors.Select(e => (e with { File = Path.GetFileName(e.File) }).ToString()).ToArray();
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void EveryErrorNamesFileLineColumnAndWhatWouldBeValid(string fileName)
    {
        string path = Path.Combine(RepositoryLayout.BadConfigs, fileName);

        ConfigLoadResult result = ConfigLoader.Load(path, RuntimeDirectory);

        Assert.NotEmpty(result.Errors);
        foreach (ConfigError error in result.Errors)
        {
            Assert.Equal(path, error.File);
            Assert.InRange(error.Line, 1, File.ReadAllLines(path).Length + 1);
            Assert.True(error.Column >= 1);
            Assert.Matches(GccStyleWithRemedy(), error.ToString());
        }
    }

    [Fact]
    public void EveryBadConfigHasAnExpectationAndEveryExpectationAConfig()
    {
        var configs = Directory.EnumerateFiles(RepositoryLayout.BadConfigs, "*.yaml").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        var expectations = Directory.EnumerateFiles(RepositoryLayout.BadConfigs, "*.expected").Select(Path.GetFileNameWithoutExtension).ToHashSet();

        Assert.True(configs.Count >= 30, $"only {configs.Count} bad configs found in {RepositoryLayout.BadConfigs}");
        Assert.Empty(configs.Except(expectations));
        Assert.Empty(expectations.Except(configs));
    }

    [Fact]
    public void TheCorpusCoversEveryKindOfMistakeTheLoaderKnows()
    {
        // One file per kind would be easy to lose in a rename; check by what the messages say.
        string all = string.Join('\n', Directory.EnumerateFiles(RepositoryLayout.BadConfigs, "*.expected").Select(File.ReadAllText));
        string[] kinds =
        [
            "YAML syntax error", "must be a single value", "must be a whole number", "must be a list",
            "unknown key", "has no 'name'", "has no 'size'", "has no 'regions'", "is empty",
            "is already used by the region", "is already the socket of", "is listed twice",
            "is not a power of two", "is smaller than 64K", "it must be from 1 to 64", "it must be from 2 to 64",
            "raise it to at least", "unknown backing", "only applies to 'backing: hugetlbfs'",
            "is not an octal permission mode", "duplicate key", "must be an absolute path", "bytes (sun_path)",
            "admits no peers", "is too small for", "a second YAML document", "refers to no anchor",
            "a peer table entry holds at most",
        ];
        foreach (string kind in kinds)
            Assert.Contains(kind, all);
    }
}
