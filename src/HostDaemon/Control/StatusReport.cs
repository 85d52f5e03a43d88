using System.Text.Json.Serialization;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Server;

namespace Ivshmem.Daemon.Control;

/// <summary>The answer to a status query on the control socket (<c>ivshmemd status --json</c> prints
/// it as it comes). Field names are part of the interface for scripts: add, never rename.</summary>
public sealed record StatusReport(DaemonReport Daemon, IReadOnlyList<RegionReport> Regions)
{
    internal static StatusReport From(ServerStatus status, DaemonState state) => new(
        new DaemonReport(Environment.ProcessId, state.ConfigurationSource, state.StartedAt,
            state.LastReload is { } r ? new ReloadReport(r.At, r.Succeeded, r.Errors, r.Summary) : null),
        status.Regions.Select(RegionReport.From).ToList());
}

public sealed record DaemonReport(int Pid, string Configuration, DateTimeOffset StartedAt, ReloadReport? LastReload);

public sealed record ReloadReport(DateTimeOffset At, bool Succeeded, IReadOnlyList<string> Errors, string Summary);

/// <param name="State">serving, retiring (removed from the configuration, waiting for its peers to
/// leave) or changed (a new configuration applies once its peers have left).</param>
/// <param name="Restored">The memory came back from the fd store after a daemon restart.</param>
public sealed record RegionReport(string Name, long SizeBytes, string Backing, string Memory, string Socket, int Vectors,
    int MaxPeers, string State, bool Restored, long NextPeerId, IReadOnlyList<PeerReport> Peers)
{
    internal static RegionReport From(RegionStatus r) => new(r.Name, r.SizeBytes, ConfigKeys.Spelling(r.Backing), r.MemoryDescription,
        r.SocketPath, r.Vectors, r.MaxPeers, r.State, r.Restored, r.NextPeerId,
        r.Peers.Select(p => new PeerReport(p.Id, p.Slot, p.Name, ServedKind(p.Kind), p.Pid, p.User, p.Since, p.Restored, p.Orphaned)).ToList());

    private static string ServedKind(Ring.PeerKind kind) => kind switch
    {
        Ring.PeerKind.VirtualMachine => "vm",
        Ring.PeerKind.HostProcess => "host",
        _ => "unknown",
    };
}

/// <param name="Kind">vm or host.</param>
/// <param name="Restored">Joined a previous daemon instance; resumed from the fd store.</param>
/// <param name="Orphaned">The daemon can tell it nothing more (see docs/protocol.md).</param>
public sealed record PeerReport(int Id, int Slot, string Name, string Kind, int Pid, string User, DateTimeOffset Since, bool Restored, bool Orphaned);

/// <summary>Source-generated JSON (no reflection: trimming- and AOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StatusReport))]
internal sealed partial class StatusJson : JsonSerializerContext;
