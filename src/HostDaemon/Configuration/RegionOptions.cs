namespace Ivshmem.Daemon.Configuration;

/// <summary>
/// One shared memory region and the socket QEMU (and host peers) connect to for it. All values are
/// validated and defaulted (see docs/configuration.md for the reason behind each limit).
/// Equality compares values, lists included, so a reload can tell an unchanged region from a changed one.
/// </summary>
public sealed record RegionOptions
{
    /// <summary>Unique name: letters, digits, '-', '_', '.'; part of the socket name and QEMU's chardev id.</summary>
    public required string Name { get; init; }

    /// <summary>Region size in bytes: a power of two, 64 KiB .. 1 TiB (QEMU aborts on anything else).</summary>
    public required long SizeBytes { get; init; }

    public RegionBacking Backing { get; init; } = RegionBacking.Memfd;

    /// <summary>Huge page size for <see cref="RegionBacking.Hugetlbfs"/>; null = the mount's own page size.
    /// Always null for the other backings.</summary>
    public long? HugePageSizeBytes { get; init; }

    /// <summary>hugetlbfs mount to create the (unlinked) file in; /dev/hugepages by default.
    /// Null unless <see cref="Backing"/> is <see cref="RegionBacking.Hugetlbfs"/>.</summary>
    public string? HugetlbfsMount { get; init; }

    /// <summary>Path of the named file for <see cref="RegionBacking.ShmFile"/>
    /// (/dev/shm/ivshmemd-&lt;name&gt; by default). Null for the other backings.</summary>
    public string? ShmFilePath { get; init; }

    /// <summary>Doorbell vectors per peer, 1..64 (QEMU's <c>vectors=</c>; every peer must use the same).</summary>
    public int Vectors { get; init; } = ConfigLimits.DefaultVectors;

    /// <summary>UNIX socket path QEMU connects to; &lt;RuntimeDirectory&gt;/&lt;Name&gt;.sock by default.</summary>
    public required string SocketPath { get; init; }

    /// <summary>Permission bits of the socket file (connecting needs write permission); 0660 by default.</summary>
    public UnixFileMode SocketMode { get; init; } = ConfigLimits.DefaultSocketMode;

    /// <summary>User name to chown the socket to; null = leave it owned by the daemon's user.</summary>
    public string? SocketOwner { get; init; }

    /// <summary>Group name to chown the socket to; null = the daemon's group.</summary>
    public string? SocketGroup { get; init; }

    /// <summary>Most peers connected at once, 2..64: the number of slots in the region's peer table.
    /// Default max(2, Vms.Count + HostUsers.Count).</summary>
    public int MaxPeers { get; init; } = ConfigLimits.MinPeers;

    /// <summary>QEMU <c>-name</c>s admitted as peers (read from /proc/&lt;pid&gt;/cmdline of the peer).</summary>
    public IReadOnlyList<string> Vms { get; init; } = [];

    /// <summary>User names whose (non-QEMU) host processes may join as peers.</summary>
    public IReadOnlyList<string> HostUsers { get; init; } = [];

    /// <summary>Users allowed to connect at all (SO_PEERCRED); empty = anyone the socket mode lets in.</summary>
    public IReadOnlyList<string> AllowUsers { get; init; } = [];

    /// <summary>Groups allowed to connect at all: the peer's primary group (SO_PEERCRED) or one of its
    /// supplementary groups (SO_PEERGROUPS); empty = no group restriction. A peer passes the allow check
    /// when it matches <see cref="AllowUsers"/> or <see cref="AllowGroups"/>; with both empty, anyone
    /// the socket mode lets in passes.</summary>
    public IReadOnlyList<string> AllowGroups { get; init; } = [];

    public bool Equals(RegionOptions? other) =>
        other is not null
        && Name == other.Name
        && SizeBytes == other.SizeBytes
        && Backing == other.Backing
        && HugePageSizeBytes == other.HugePageSizeBytes
        && HugetlbfsMount == other.HugetlbfsMount
        && ShmFilePath == other.ShmFilePath
        && Vectors == other.Vectors
        && SocketPath == other.SocketPath
        && SocketMode == other.SocketMode
        && SocketOwner == other.SocketOwner
        && SocketGroup == other.SocketGroup
        && MaxPeers == other.MaxPeers
        && Vms.SequenceEqual(other.Vms)
        && HostUsers.SequenceEqual(other.HostUsers)
        && AllowUsers.SequenceEqual(other.AllowUsers)
        && AllowGroups.SequenceEqual(other.AllowGroups);

    public override int GetHashCode() => HashCode.Combine(Name, SizeBytes, Backing, SocketPath, Vectors, MaxPeers);
}
