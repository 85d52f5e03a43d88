using System.CommandLine;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Logging;

namespace Ivshmem.Daemon.Cli;

/// <summary><c>ivshmemd check-config [FILE]</c>: validate without starting anything.</summary>
internal static class CheckConfigCommand
{
    public static (Command, ManPage) Create()
    {
        var file = new Argument<string>("FILE")
        {
            Description = "The configuration file to check.",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => DefaultPaths.ConfigFile,
        };
        file.RejectOptionLikeValues("see --help for the options, or write ./-name for a FILE whose name starts with '-'");
        var command = new Command("check-config", Page.Summary) { file };
        command.SetAction(parseResult =>
        {
            string path = parseResult.GetValue(file) ?? DefaultPaths.ConfigFile;
            var output = parseResult.InvocationConfiguration.Output;
            DaemonOptions? options = ConfigFileOption.LoadOrReport(path, parseResult.InvocationConfiguration.Error, "ivshmemd check-config");
            if (options is null)
                return ExitCodes.Config;
            output.WriteLine(Summary(path, options));
            foreach (Doctor.CheckResult warning in Doctor.HostWarnings.For(options))
                parseResult.InvocationConfiguration.Error.WriteLine(Doctor.HostWarnings.Format(path, warning));
            return ExitCodes.Ok;
        });
        return (command, Page);
    }

    /// <summary>One line: file, regions with size, backing and VMs, control socket.</summary>
    internal static string Summary(string path, DaemonOptions options)
    {
        int count = options.Regions.Count;
        var regions = options.Regions.Select(r =>
        {
            var peers = r.Vms.Select(vm => $"vm {vm}").Concat(r.HostUsers.Select(u => $"user {u}"));
            return $"{r.Name} ({ByteSize.Describe(r.SizeBytes)} {ConfigKeys.Spelling(r.Backing)}, {Plural.Of(r.Vectors, "vector")}, {r.MaxPeers} peers max: {string.Join(", ", peers)})";
        });
        return $"{path}: ok: {count} region{(count == 1 ? "" : "s")}: {string.Join("; ", regions)}; control socket {options.ControlSocketPath}";
    }

    private static readonly ManPage Page = new()
    {
        Summary = "check a configuration file and print a summary",
        Synopsis = ["ivshmemd check-config [FILE]"],
        Description =
        [
            "Reads FILE the way 'ivshmemd run' and 'systemctl reload ivshmemd' do, checks every value, and starts nothing. If the configuration is valid, prints one line that summarises it. Otherwise prints every error found, one per line, in the form",
            "  FILE:LINE:COLUMN: error: what is wrong; what would be valid",
            "that editors and CI systems link to the place in the file. All errors are reported, not just the first; a YAML syntax error ends the check, because past it the structure of the file is unknown.",
            "What is checked: YAML syntax; known keys only; value types; region names, socket paths and shm files unique; size a power of two from 64K to 1T (QEMU aborts on other sizes); vectors 1..64; VM names at most 64 bytes of UTF-8 (a peer table entry); max_peers 2..64 and not below the number of VMs; the region big enough for a ring between every pair of peers; backing-specific keys only with their backing; socket modes octal and writable; UNIX socket paths at most 107 bytes. User and group names are checked for form.",
            "Then, for a valid file, what this host would make 'ivshmemd run' fail on is printed as warnings on standard error, one per line ('FILE: warning: what; fix: how'): users and groups that do not exist here, and socket directories that do not exist and that run does not create (it creates the runtime directory and the control socket's directory, not the directory of a region's own 'socket:'), and regions that admit more than two peers, since a region is one trust domain in which any peer can read the others' rings and pass itself off as another (docs/ring.md). Warnings do not change the exit status. Everything else about the host (QEMU, permissions, huge pages, memory, AppArmor/SELinux, the running daemon) is checked by 'ivshmemd doctor'.",
            "A minimal configuration:",
            "  regions:\n    - name: web-db\n      size: 64M\n      vms: [web, db]",
            "Relative paths are rejected: the service runs in /. Defaults that depend on the environment ($RUNTIME_DIRECTORY) are taken from the environment of this command, so check with the same environment the service has.",
        ],
        ExitStatus =
        [
            .. RootManPage.StandardExitStatus("the configuration is valid; the summary is on standard output",
                "an internal error; the reason is on standard error"),
            RootManPage.ConfigExitStatus("the configuration is not valid or cannot be read; every error is on standard error ('ivshmemd run' exits with 78 for the same file)"),
        ],
        Environment = [new("RUNTIME_DIRECTORY", $"Runtime directory for default socket paths when the file sets no runtime_directory (default {DefaultPaths.RuntimeDirectory}).")],
        Files = [new(DefaultPaths.ConfigFile, "Checked when no FILE is given: the configuration the packaged service reads.")],
        Examples =
        [
            new("ivshmemd check-config", $"Check {DefaultPaths.ConfigFile}."),
            new("ivshmemd check-config new.yaml &&\n  install -m 0644 new.yaml /etc/ivshmemd/ivshmemd.yaml &&\n  systemctl reload ivshmemd",
                "Install and apply a configuration only if it is valid."),
        ],
        SeeAlso = ["ivshmemd doctor --help", "ivshmemd run --help", "docs/configuration.md"],
    };
}
