using System.Text;
using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Server;

namespace Ivshmem.Daemon.Hosting;

/// <summary>The one line systemd shows as the service's status (STATUS=, systemctl status).</summary>
internal static class StatusText
{
    /// <summary>systemd keeps a status of any length, but a line that fits a terminal is read.</summary>
    private const int MaxLength = 400;

    public static string Build(ServerStatus status, ReloadRecord? lastReload)
    {
        var text = new StringBuilder();
        if (lastReload is { Succeeded: false } failed)
            text.Append($"Reload failed ({failed.Errors.Count} error{(failed.Errors.Count == 1 ? "" : "s")}, see the journal), serving the previous configuration: ");
        text.Append($"{status.Regions.Count} region{(status.Regions.Count == 1 ? "" : "s")}, {status.PeerCount} peer{(status.PeerCount == 1 ? "" : "s")}");
        if (status.Regions.Count > 0)
        {
            text.Append(" (");
            text.AppendJoin("; ", status.Regions.Select(r => $"{r.Name}: {r.Peers.Count}/{r.MaxPeers}{(r.State == "serving" ? "" : " " + r.State)}"));
            text.Append(')');
        }
        return text.Length <= MaxLength ? text.ToString() : text.ToString(0, MaxLength - 3) + "...";
    }
}
