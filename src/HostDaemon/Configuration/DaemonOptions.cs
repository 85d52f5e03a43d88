namespace Ivshmem.Daemon.Configuration;

/// <summary>
/// The whole validated configuration of one daemon. Every path is absolute and every default is
/// already applied: the server uses these values as they are, without re-checking them.
/// Built by <see cref="ConfigLoader"/> from YAML or by <see cref="DefaultConfiguration"/>.
/// </summary>
public sealed record DaemonOptions
{
    /// <summary>Directory for sockets (systemd's RuntimeDirectory=, normally /run/ivshmemd).</summary>
    public required string RuntimeDirectory { get; init; }

    /// <summary>Directory for state that must outlive the process: each region's next peer id
    /// (systemd's StateDirectory=, normally /var/lib/ivshmemd). Null: <c>&lt;RuntimeDirectory&gt;/state</c>
    /// (see <see cref="StateDirectoryPath"/>).</summary>
    public string? StateDirectory { get; init; }

    /// <summary><see cref="StateDirectory"/>, or <c>&lt;RuntimeDirectory&gt;/state</c> when none was set.</summary>
    public string StateDirectoryPath => StateDirectory ?? Path.Combine(RuntimeDirectory, "state");

    /// <summary>UNIX socket that <c>ivshmemd status</c> talks to.</summary>
    public required string ControlSocketPath { get; init; }

    /// <summary>Group that may read status through the control socket; null = only the daemon's user.</summary>
    public string? ControlSocketGroup { get; init; }

    /// <summary>Prometheus metrics written to a file for node_exporter's textfile collector; null = none.</summary>
    public MetricsOptions? Metrics { get; init; }

    /// <summary>The libvirt to talk to and whether to follow its domains (docs/libvirt.md); null = no libvirt.</summary>
    public LibvirtOptions? Libvirt { get; init; }

    /// <summary>The regions, in file order; names and socket paths are unique.</summary>
    public required IReadOnlyList<RegionOptions> Regions { get; init; }

    /// <summary>Where these options came from, for messages: the configuration file's path as it was
    /// given, or a description such as "(built-in demo configuration)". Reload uses the config path
    /// handed to the daemon separately, never this.</summary>
    public required string SourcePath { get; init; }

    /// <summary>The regions that admit the VM named <paramref name="vmName"/> (QEMU's -name), in file order.</summary>
    public IReadOnlyList<RegionOptions> RegionsForVm(string vmName) =>
        Regions.Where(r => r.Vms.Contains(vmName, StringComparer.Ordinal)).ToList();

    /// <summary>Every VM name that some region admits, sorted, each once.</summary>
    public IReadOnlyList<string> AllVmNames() =>
        Regions.SelectMany(r => r.Vms).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
}
