using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Doctor;

/// <summary>What <c>ivshmemd check-config</c> adds to a valid file: the doctor checks that find, on
/// this host, what would stop 'ivshmemd run' (users and groups that do not exist, socket directories
/// that do not exist and that run does not create), and regions that join more than two peers into
/// one trust domain. Warnings only: the file itself is valid.</summary>
internal static class HostWarnings
{
    public static IEnumerable<CheckResult> For(DaemonOptions options) =>
        AccountChecks.Users(options, options.Regions)
            .Concat(AccountChecks.Groups(options, options.Regions))
            .Concat(SocketChecks.Directories(options, options.Regions))
            .Where(r => r.Verdict == Verdict.Fail)
            .Concat(TrustDomainNotes.For(options));

    /// <summary>"FILE: warning: what; fix: how", the line check-config prints on standard error.</summary>
    public static string Format(string path, CheckResult result) => $"{path}: warning: {result.Message}; fix: {result.Fix}";
}
