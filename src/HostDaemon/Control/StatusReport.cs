using System.Text.Json.Serialization;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Server;

namespace Ivshmem.Daemon.Control;

/// <summary>The answer to a status query on the control socket (<c>ivshmemd status --json</c> prints
/// it as it comes). Field names are part of the interface for scripts: add, never rename.</summary>
/// <param name="UnpluggedQemu">The QEMU processes, daemon-wide, that lost an ivshmem device and still
/// run (null from a daemon that predates them): <c>ivshmemd attach</c> refuses them
/// (docs/migration.md, "Re-attaching into the same QEMU process").</param>
public sealed record StatusReport(DaemonReport Daemon, IReadOnlyList<RegionReport> Regions, IReadOnlyList<UnpluggedQemuReport>? UnpluggedQemu = null)
{
    internal static StatusReport From(ServerStatus status, DaemonState state, RingSnapshot rings, IReadOnlyList<UnpluggedQemu> unplugged)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return new(
            new DaemonReport(Environment.ProcessId, state.ConfigurationSource, state.StartedAt,
                state.LastReload is { } r ? new ReloadReport(r.At, r.Succeeded, r.Errors, r.Summary) : null),
            status.Regions.Select(r => RegionReport.From(r, rings.RingsOf(r.Name), now)).ToList(),
            unplugged.Select(u => new UnpluggedQemuReport(u.Process.Pid, u.Process.StartTime, u.Vm, u.Region, u.PeerId, u.At)).ToList());
    }
}

/// <summary>A QEMU process whose connection to <paramref name="Region"/> (as peer <paramref name="PeerId"/>)
/// ended at <paramref name="At"/> while it ran on.</summary>
/// <param name="StartTime">Field 22 of /proc/PID/stat: with the pid, it tells this process from a
/// later one with the same pid.</param>
public sealed record UnpluggedQemuReport(int Pid, ulong StartTime, string Vm, string Region, int PeerId, DateTimeOffset At);

public sealed record DaemonReport(int Pid, string Configuration, DateTimeOffset StartedAt, ReloadReport? LastReload);

public sealed record ReloadReport(DateTimeOffset At, bool Succeeded, IReadOnlyList<string> Errors, string Summary);

/// <param name="State">serving, retiring (removed from the configuration, waiting for its peers to
/// leave) or changed (a new configuration applies once its peers have left).</param>
/// <param name="Restored">The memory came back from the fd store after a daemon restart.</param>
/// <param name="Rings">One entry per direction between slots that hold peers or whose ring was used,
/// as last sampled (null from a daemon that predates them).</param>
public sealed record RegionReport(string Name, long SizeBytes, string Backing, string Memory, string Socket, int Vectors,
    int MaxPeers, string State, bool Restored, long NextPeerId, IReadOnlyList<PeerReport> Peers, IReadOnlyList<RingReport>? Rings = null)
{
    internal static RegionReport From(RegionStatus r, IReadOnlyList<RingStatus> rings, DateTimeOffset now) => new(r.Name, r.SizeBytes,
        ConfigKeys.Spelling(r.Backing), r.MemoryDescription, r.SocketPath, r.Vectors, r.MaxPeers, r.State, r.Restored, r.NextPeerId,
        r.Peers.Select(p => new PeerReport(p.Id, p.Slot, p.Name, ServedKind(p.Kind), p.Pid, p.User, p.Since, p.Restored, p.Orphaned)).ToList(),
        rings.Select(ring => RingReport.Of(ring, now)).ToList());

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

/// <summary>One direction between two slots (the ring from <paramref name="FromSlot"/> to
/// <paramref name="ToSlot"/>), from the positions in the region. Positions count ring bytes: payload,
/// 8-byte record headers, alignment and padding records.</summary>
/// <param name="Valid">False when the positions in shared memory are impossible; then
/// <paramref name="Problem"/> says why ("invalid: tail &lt; head"), bytes, fill and rate are 0 and
/// <paramref name="Head"/> and <paramref name="Tail"/> are the raw values.</param>
/// <param name="Bytes">Bytes the consumer has released: what went through the ring.</param>
/// <param name="FillBytes">Published, not yet released.</param>
/// <param name="BytesPerSecond">Over the last sampling interval (about a second); null when unknown.</param>
/// <param name="LastMovement">When the daemon last saw the head or tail move; null: not since
/// <paramref name="ObservedSince"/>.</param>
/// <param name="IdleSeconds">Seconds since <paramref name="LastMovement"/> when the report was made
/// (since <paramref name="ObservedSince"/> when it has not moved).</param>
public sealed record RingReport(int FromSlot, int ToSlot, string From, string To, bool Valid, string? Problem, long Bytes,
    long FillBytes, long CapacityBytes, double? BytesPerSecond, DateTimeOffset? LastMovement, DateTimeOffset ObservedSince,
    double IdleSeconds, ulong Head, ulong Tail)
{
    internal static RingReport Of(RingStatus r, DateTimeOffset now) => new(r.FromSlot, r.ToSlot, r.From, r.To, r.Valid, r.Problem,
        r.Bytes, r.Fill, r.Capacity, r.BytesPerSecond, r.LastMovement, r.ObservedSince,
        Math.Max(0, (now - (r.LastMovement ?? r.ObservedSince)).TotalSeconds), r.Head, r.Tail);
}

/// <summary>Source-generated JSON (no reflection: trimming- and AOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StatusReport))]
internal sealed partial class StatusJson : JsonSerializerContext;
