using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Server;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>The server core running in-process on a test directory, with its log captured; and host
/// peers to connect to it (the protocol test client).</summary>
internal sealed class RunningServer : IDisposable
{
    private readonly List<HostPeer> _peers = [];
    private readonly bool _ownsDirectory;

    public RunningServer(params RegionOptions[] regions) : this(new TestDirectory(), true, null, null, regions) { }

    public RunningServer(TestDirectory directory, bool ownsDirectory, IFdStore? fdStore, RestoredFds? restored, params RegionOptions[] regions)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        Options = TestConfig.Daemon(directory, regions);
        Server = new IvshmemServer(Options, Log, fdStore, restored);
        Server.Start();
    }

    /// <summary>Serves <paramref name="options"/> (loaded from a real configuration file) in <paramref name="directory"/>.</summary>
    public RunningServer(DaemonOptions options, TestDirectory directory, IFdStore? fdStore = null, RestoredFds? restored = null)
    {
        Directory = directory;
        _ownsDirectory = false;
        Options = options;
        Server = new IvshmemServer(Options, Log, fdStore, restored);
        Server.Start();
    }

    public TestDirectory Directory { get; }
    public DaemonOptions Options { get; }
    public CapturingLogger Log { get; } = new();
    public IvshmemServer Server { get; }

    public string SocketOf(string region = "r") => Options.Regions.Single(r => r.Name == region).SocketPath;

    public RegionStatus RegionStatus(string region = "r") => Server.Status.Regions.Single(r => r.Name == region);

    /// <summary>Connects a host peer that records every message; disposed with the server.</summary>
    public HostPeer Connect(string region = "r", string? name = null, bool track = true)
    {
        int vectors = Options.Regions.Single(r => r.Name == region).Vectors;
        HostPeer peer = HostPeer.Connect(SocketOf(region), new HostPeerOptions { Vectors = vectors, RecordMessages = true, Name = name, TrackPeers = track });
        lock (_peers) _peers.Add(peer);
        return peer;
    }

    public void SetNextPeerId(string region, long next) => Server.SetNextPeerIdAsync(region, next).GetAwaiter().GetResult();

    /// <summary>Waits until the server's status shows <paramref name="count"/> peers in the region.</summary>
    public void WaitForPeerCount(int count, string region = "r") =>
        Eventually.True(() => RegionStatus(region).Peers.Count == count, $"region '{region}' has {count} peers (log:\n{Log})");

    public void Dispose()
    {
        lock (_peers) foreach (HostPeer p in _peers) p.Dispose();
        Server.Dispose();
        if (_ownsDirectory) Directory.Dispose();
    }
}
