using Ivshmem.Daemon.Cli;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Configuration;

namespace Ivshmem.Daemon.Tests.Packaging;

/// <summary>packaging/systemd/ivshmemd.service: systemd accepts it without a single complaint, and it
/// says what the daemon relies on.</summary>
public sealed class SystemdUnitTests
{
    private const string SystemdAnalyze = "/usr/bin/systemd-analyze";
    private const string InstalledBinary = "/usr/bin/ivshmemd";

    private static SystemdUnitFile Unit => new(File.ReadAllText(RepositoryLayout.SystemdUnit));

    /// <summary>The unit as installed, but with ExecStart pointing at a program that exists here
    /// (verify checks that it does); the arguments stay as they are.</summary>
    private static string CopyForVerify(TempDirectory temp, Func<string, string>? edit = null)
    {
        string text = File.ReadAllText(RepositoryLayout.SystemdUnit);
        Assert.Contains($"ExecStart={InstalledBinary} ", text);
        text = text.Replace($"ExecStart={InstalledBinary} ", "ExecStart=/bin/true ");
        return temp.Write("ivshmemd.service", edit?.Invoke(text) ?? text);
    }

    private static async Task<CliResult> VerifyAsync(string unitPath)
    {
        Assert.True(File.Exists(SystemdAnalyze), $"{SystemdAnalyze} is missing: install the Debian package 'systemd' (scripts/test needs it)");
        return await ChildProcess.RunAsync(SystemdAnalyze, ["verify", unitPath]);
    }

    [Fact]
    public async Task SystemdAnalyzeVerifyPrintsNothing()
    {
        using var temp = new TempDirectory();
        string unit = CopyForVerify(temp);

        CliResult result = await VerifyAsync(unit);

        // verify exits 0 even for unknown keys or a bad Type=; any output is a problem.
        Assert.Equal("", result.Error);
        Assert.Equal("", result.Output);
        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task VerifyWouldCatchAMistakeInTheUnit()
    {
        // Guards the test above: the check must be able to fail, for an unknown key and a bad value.
        using var temp = new TempDirectory();
        string unit = CopyForVerify(temp, text => text
            .Replace("Type=notify", "Type=notfy")
            .Replace("[Service]", "[Service]\nFileDescriptorStoreMaxx=1"));

        CliResult result = await VerifyAsync(unit);

        Assert.Contains("notfy", result.Error);
        Assert.Contains("FileDescriptorStoreMaxx", result.Error);
    }

    [Fact]
    public void ExecStartRunsTheDaemonOnTheDefaultConfiguration()
    {
        string execStart = Unit.Single("Service", "ExecStart");

        Assert.Equal($"{InstalledBinary} run --config {DefaultPaths.ConfigFile}", execStart);
        // And the CLI parses exactly that command line without a usage error.
        string[] args = execStart.Split(' ')[1..];
        var parsed = CommandLineApp.Build().Parse(args);
        Assert.Empty(parsed.Errors);
        Assert.Equal("run", parsed.CommandResult.Command.Name);
    }

    [Fact]
    public void ServiceIsANotifyServiceThatReloadsOnSighup()
    {
        SystemdUnitFile unit = Unit;

        Assert.Equal("notify", unit.Single("Service", "Type"));
        Assert.Equal("/bin/kill -HUP $MAINPID", unit.Single("Service", "ExecReload"));
        Assert.Equal("on-failure", unit.Single("Service", "Restart"));
        Assert.Equal("30s", unit.Single("Service", "WatchdogSec"));
    }

    [Fact]
    public void AnInvalidConfigurationIsNotRestartedInALoop()
    {
        // ivshmemd run exits with EX_CONFIG when the file is invalid, and with 2 when its command line
        // is wrong; a restart would fail alike.
        Assert.Equal($"{ExitCodes.Usage} {ExitCodes.Config}", Unit.Single("Service", "RestartPreventExitStatus"));
        Assert.Equal(78, ExitCodes.Config);
    }

    [Fact]
    public void RuntimeDirectoryIsTheDefaultSocketDirectory()
    {
        SystemdUnitFile unit = Unit;

        Assert.Equal(DefaultPaths.RuntimeDirectory, "/run/" + unit.Single("Service", "RuntimeDirectory"));
        Assert.Equal("0755", unit.Single("Service", "RuntimeDirectoryMode"));
        Assert.Equal("restart", unit.Single("Service", "RuntimeDirectoryPreserve"));
    }

    [Fact]
    public void CommentsSayListeningSocketsAreNotKeptAcrossARestart()
    {
        // The daemon stores memory, ledgers and peer connections (Systemd/NotifyTests checks the
        // names), never its listening sockets: the comments must not promise that they come back.
        string preserve = CommentAbove("RuntimeDirectoryPreserve=");
        string store = CommentAbove("FileDescriptorStoreMax=");

        Assert.Contains("listening sockets are not in the fd store", preserve);
        Assert.Contains("new instance binds new ones", preserve);
        Assert.DoesNotContain("back from the fd store", preserve);
        Assert.Contains("not the listening sockets", store);
        Assert.Contains("ledger of peer ids", store);
    }

    /// <summary>The comment lines right above <paramref name="setting"/>, joined into one line.</summary>
    private static string CommentAbove(string setting)
    {
        string[] lines = File.ReadAllLines(RepositoryLayout.SystemdUnit);
        int at = Array.FindIndex(lines, l => l.StartsWith(setting, StringComparison.Ordinal));
        Assert.True(at > 0, $"no {setting} in the unit");
        var comment = new List<string>();
        for (int i = at - 1; i >= 0 && lines[i].StartsWith('#'); i--)
            comment.Insert(0, lines[i].TrimStart('#').Trim());
        return string.Join(' ', comment);
    }

    [Fact]
    public void FdStoreHoldsTheRegionsAndEventfdsOfTheScaleTarget()
    {
        // The scale target: 256 peers across 64 regions, 2 vectors each. Stored: each region's
        // memory and ledger, each peer's connection and one eventfd per vector.
        const int needed = 64 * 2 + 256 * (1 + ConfigLimits.DefaultVectors);

        int storeMax = int.Parse(Unit.Single("Service", "FileDescriptorStoreMax"), System.Globalization.CultureInfo.InvariantCulture);
        int noFile = int.Parse(Unit.Single("Service", "LimitNOFILE"), System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(storeMax >= needed, $"FileDescriptorStoreMax={storeMax} < {needed}");
        Assert.True(noFile > storeMax * 2, $"LimitNOFILE={noFile} leaves no room beside {storeMax} stored fds");
    }

    [Fact]
    public void HardeningKeepsWhatTheDaemonAndTheRuntimeNeed()
    {
        SystemdUnitFile unit = Unit;

        Assert.Equal("CAP_CHOWN", unit.Single("Service", "CapabilityBoundingSet"));
        Assert.Equal("AF_UNIX", unit.Single("Service", "RestrictAddressFamilies"));
        Assert.Equal("no", unit.Single("Service", "MemoryDenyWriteExecute")); // the JIT
        Assert.Equal("strict", unit.Single("Service", "ProtectSystem"));
        foreach (string key in new[] { "NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables",
                     "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "RestrictNamespaces", "LockPersonality" })
            Assert.Equal("yes", unit.Single("Service", key));
        Assert.Equal("native", unit.Single("Service", "SystemCallArchitectures"));
    }
}
