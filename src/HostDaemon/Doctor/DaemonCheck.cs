using System.Text.Json;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Control;

namespace Ivshmem.Daemon.Doctor;

/// <summary>Check "daemon": ivshmemd answers on the control socket of the configuration, serves
/// that configuration, and has every region of it.</summary>
internal static class DaemonCheck
{
    /// <summary>The daemon's status report (null when it did not answer) and the check's line.</summary>
    public static async Task<(StatusReport? Report, CheckResult Result)> RunAsync(DaemonOptions options, IReadOnlyList<RegionOptions> regions, CancellationToken cancellationToken)
    {
        string socket = options.ControlSocketPath;
        string answer;
        try
        {
            answer = await StatusClient.QueryAsync(socket, cancellationToken);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ArgumentException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            (int exitCode, string message) = StatusClient.Explain(socket, e);
            return exitCode switch
            {
                ExitCodes.NoPermission => (null, CheckResult.Warn("daemon", message.Split(';')[0], $"run doctor as root or as a member of control_group{(options.ControlSocketGroup is { } g ? $" ('{g}')" : "")}")),
                ExitCodes.Unavailable when e is OperationCanceledException => (null, CheckResult.Fail("daemon", message.Split(';')[0], "systemctl status ivshmemd; journalctl -u ivshmemd; systemctl restart ivshmemd")),
                ExitCodes.Unavailable when message.StartsWith("cannot connect to", StringComparison.Ordinal) =>
                    (null, CheckResult.Warn("daemon", $"ivshmemd is not running: {message.Split(';')[0]}", "systemctl enable --now ivshmemd (or start 'ivshmemd run' with this configuration)")),
                _ => (null, CheckResult.Fail("daemon", message.Split("; is ivshmemd running")[0], "systemctl restart ivshmemd; is another program listening on that socket?")),
            };
        }
        StatusReport? report;
        try { report = JsonSerializer.Deserialize(answer, StatusJson.Default.StatusReport); }
        catch (JsonException) { report = null; }
        if (report is null)
            return (null, CheckResult.Fail("daemon", $"the daemon at {socket} answered something that is not a status report", "systemctl restart ivshmemd; is another program listening on that socket?"));
        var served = report.Regions.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var missing = regions.Where(r => !served.Contains(r.Name)).Select(r => r.Name).ToList();
        string pid = $"pid {report.Daemon.Pid}, {report.Regions.Count} region{(report.Regions.Count == 1 ? "" : "s")}, {report.Regions.Sum(r => r.Peers.Count)} peers";
        if (report.Daemon.LastReload is { Succeeded: false } reload)
            return (report, CheckResult.Fail("daemon", $"ivshmemd answers on {socket} ({pid}), but its last reload failed: {string.Join("; ", reload.Errors)}",
                $"correct {report.Daemon.Configuration} (ivshmemd check-config), then systemctl reload ivshmemd"));
        if (missing.Count > 0)
            return (report, CheckResult.Warn("daemon", $"ivshmemd answers on {socket} ({pid}) but does not serve region {string.Join(", ", missing.Select(n => $"'{n}'"))} of {options.SourcePath} (it reads {report.Daemon.Configuration})",
                "systemctl reload ivshmemd to apply the configuration"));
        return (report, CheckResult.Pass("daemon", $"ivshmemd answers on {socket} ({pid})"));
    }
}
