using System.Text.RegularExpressions;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>packaging/ivshmemd.yaml, the file that installs to /etc/ivshmemd/: valid as shipped, valid
/// with every commented-out example switched on, and showing every key.</summary>
public sealed partial class ExampleConfigTests
{
    // "#key:" or "#- name:" (any indentation): a commented-out setting, not prose.
    [GeneratedRegex(@"^(?<indent>\s*)#(?<setting>\s*(- )?[a-z_]+:.*)$")]
    private static partial Regex CommentedSetting();

    [Fact]
    public async Task CheckConfigAcceptsTheExample()
    {
        CliResult result = await CliRunner.RunAsync("check-config", RepositoryLayout.ExampleConfig);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        // On a host without the package's group or kvm, check-config warns of them; nothing else.
        Assert.All(result.ErrorLines, l => Assert.StartsWith($"{RepositoryLayout.ExampleConfig}: warning: ", l));
        Assert.StartsWith($"{RepositoryLayout.ExampleConfig}: ok: 1 region: web-db ", result.Output);
    }

    [Fact]
    public void EveryCommentedOutExampleIsValidToo()
    {
        string[] lines = File.ReadAllLines(RepositoryLayout.ExampleConfig);
        int switchedOn = 0;
        string enabled = string.Join('\n', lines.Select(line =>
        {
            Match match = CommentedSetting().Match(line);
            if (!match.Success || !IsConfigKey(match.Groups["setting"].Value))
                return line;
            switchedOn++;
            return match.Groups["indent"].Value + match.Groups["setting"].Value;
        }));

        ConfigLoadResult result = ConfigLoader.Parse(enabled, "ivshmemd.yaml with examples enabled", "/run/ivshmemd");

        Assert.True(result.Succeeded, string.Join('\n', result.Errors) + "\n---\n" + enabled);
        Assert.True(switchedOn >= 20, $"only {switchedOn} commented settings found; did the example's layout change?");
        Assert.Equal(["web-db", "bulk", "web-bench", "debug"], result.Options.Regions.Select(r => r.Name));
    }

    [Fact]
    public void TheExampleShowsEveryKey()
    {
        string text = File.ReadAllText(RepositoryLayout.ExampleConfig);

        foreach (string key in AllKeys())
            Assert.Matches($@"(?m)^\s*#?\s*(- )?{key}:", text);
    }

    internal static IEnumerable<string> AllKeys() => ConfigKeys.TopLevel.Concat(ConfigKeys.Region).Concat(ConfigKeys.AllowSection).Concat(ConfigKeys.MetricsSection).Concat(ConfigKeys.LibvirtSection);

    private static bool IsConfigKey(string setting)
    {
        string key = setting.TrimStart(' ', '-').Split(':')[0];
        return AllKeys().Contains(key);
    }
}
