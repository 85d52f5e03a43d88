using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Packaging;

namespace Ivshmem.Daemon.Tests.Configuration;

/// <summary>docs/configuration.md documents every key the loader accepts, and its examples load.</summary>
public sealed class ConfigurationDocTests
{
    private static string Doc => File.ReadAllText(RepositoryLayout.ConfigurationDoc);

    [Fact]
    public void EveryKeyIsDocumented()
    {
        string doc = Doc;

        foreach (string key in ExampleConfigTests.AllKeys())
            Assert.Contains($"`{key}`", doc);
        foreach (string backing in ConfigKeys.Backings.Keys)
            Assert.Contains($"`{backing}`", doc);
    }

    [Fact]
    public void EveryYamlExampleInTheDocIsValid()
    {
        var examples = YamlBlocks(Doc).Where(block => block.Contains("regions:", StringComparison.Ordinal)).ToList();

        Assert.True(examples.Count >= 2, "the doc should show a minimal and a complete file");
        foreach (string example in examples)
        {
            ConfigLoadResult result = ConfigLoader.Parse(example, "docs/configuration.md example", "/run/ivshmemd");
            Assert.True(result.Succeeded, string.Join('\n', result.Errors) + "\n---\n" + example);
        }
    }

    [Fact]
    public void TheCompleteExampleUsesEveryKey()
    {
        string complete = YamlBlocks(Doc).Single(block => block.Contains("runtime_directory:", StringComparison.Ordinal));

        foreach (string key in ExampleConfigTests.AllKeys())
            Assert.Matches($@"(?m)(^|[\s{{,])(- )?{key}:", complete);
    }

    private static IEnumerable<string> YamlBlocks(string markdown)
    {
        string[] parts = markdown.Split("```");
        for (int i = 1; i < parts.Length; i += 2)
            if (parts[i].StartsWith("yaml\n", StringComparison.Ordinal))
                yield return parts[i]["yaml\n".Length..];
    }
}
