using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>
/// What scripts/package generates with scripts/lib/cli-docs.py, checked here against the built ivshmemd
/// without building a package: man pages that groff renders without a warning, with a section for every
/// command of --help, and a bash completion that knows every command. (The package itself, installed,
/// is tested by scripts/systemd-e2e.)
/// </summary>
public sealed class PackageDocsTests
{
    private static readonly string CliDocs = Path.Combine(RepositoryLayout.Root, "scripts", "lib", "cli-docs.py");
    private static readonly string[] Commands = ["run", "check-config", "qemu-args", "libvirt-xml", "status", "attach", "detach"];

    [Fact]
    public async Task ManPageOfIvshmemdHasEveryCommandAndRendersCleanly()
    {
        string page = await Generate("man", "ivshmemd", ChildProcess.IvshmemdBinary, "8", "0.0.0", "2026-01-01");

        Assert.StartsWith(".TH \"IVSHMEMD\" \"8\"", page);
        Assert.Contains(".SH NAME\nivshmemd \\- ", page);
        foreach (string command in Commands)
            Assert.Contains($".SH \"IVSHMEMD {command.ToUpperInvariant()}\"\nivshmemd {command.Replace("-", "\\-")} \\- ", page);
        await AssertRendersWithoutWarnings(page);
    }

    [Fact]
    public async Task ManPageOfTheConfigurationHasEveryKeyAndRendersCleanly()
    {
        string page = await Generate("md2man", RepositoryLayout.ConfigurationDoc, "ivshmemd.yaml", "5", "0.0.0", "2026-01-01", "configuration file of ivshmemd");

        Assert.StartsWith(".TH \"IVSHMEMD.YAML\" \"5\"", page);
        foreach (string key in new[] { "runtime_directory", "control_socket", "control_group", "regions", "size", "backing", "vectors", "vms", "socket_mode", "allow" })
            Assert.Contains($".TP\n\\fB{key}\\fR\n", page);
        await AssertRendersWithoutWarnings(page);
    }

    [Fact]
    public async Task BashCompletionKnowsEveryCommandAndIsValidBash()
    {
        string script = await Generate("completion", "ivshmemd", ChildProcess.IvshmemdBinary);

        foreach (string command in Commands)
            Assert.Contains($"        {command})\n", script);
        Assert.Contains("complete -F _ivshmemd ivshmemd", script);
        CliResult syntax = await ChildProcess.RunAsync("bash", ["-n"], standardInput: script);
        Assert.True(syntax.ExitCode == 0, syntax.Error);
    }

    private static async Task<string> Generate(params string[] arguments)
    {
        CliResult result = await ChildProcess.RunAsync("python3", [CliDocs, .. arguments], timeoutSeconds: 120);
        Assert.True(result.ExitCode == 0, $"cli-docs.py {string.Join(' ', arguments)} exited with {result.ExitCode}: {result.Error}");
        return result.Output;
    }

    private static async Task AssertRendersWithoutWarnings(string page)
    {
        CliResult groff = await ChildProcess.RunAsync("groff", ["-man", "-Tutf8", "-ww", "-z"], standardInput: page);
        Assert.Equal(0, groff.ExitCode);
        Assert.Equal("", groff.Error);
    }
}
