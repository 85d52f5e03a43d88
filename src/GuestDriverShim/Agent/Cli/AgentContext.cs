using System.CommandLine;
using Ivshmem.Agent.Links;
using Ivshmem.Peer;
using Ivshmem.Peer.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary>What every command needs: its output writers, the common options, and the endpoint
/// (guest device or host peer) with its peers.</summary>
internal sealed class AgentContext
{
    private readonly ParseResult _parse;

    public AgentContext(ParseResult parse)
    {
        _parse = parse;
        Output = parse.InvocationConfiguration.Output;
        Error = parse.InvocationConfiguration.Error;
        Quiet = parse.GetValue(CommonOptions.Quiet);
        CommandPath = AgentApp.CommandPath(parse.CommandResult.Command);
    }

    public TextWriter Output { get; }
    public TextWriter Error { get; }
    public bool Quiet { get; }
    public string CommandPath { get; }

    public T? Get<T>(Option<T> option) => _parse.GetValue(option);

    /// <summary>A note on standard error ("ivshmem-agent send: waiting for ..."), unless --quiet.</summary>
    public void Note(string message)
    {
        if (!Quiet) Error.WriteLine($"{CommandPath}: {message}");
    }

    /// <summary>A result line on standard error, even with --quiet (transfer summaries: standard
    /// output may be the data).</summary>
    public void Report(string message) => Error.WriteLine($"{CommandPath}: {message}");

    /// <summary>True in host-peer mode (--socket): the endpoint is the daemon's socket, not a device.</summary>
    public bool IsHostPeer => Get(CommonOptions.Socket) is not null;

    /// <summary>Opens the guest device, or connects to the daemon in host-peer mode (--socket).</summary>
    public IvshmemEndpoint OpenEndpoint()
    {
        string? socket = Get(CommonOptions.Socket);
        if (socket is not null) return HostPeerEndpoint.Connect(socket, Get(CommonOptions.PeerName), Get(CommonOptions.Vectors), Note);
        return GuestDevice.Open(GuestDeviceOptions());
    }

    /// <summary>Which guest device to open and how, as the common options say.</summary>
    public GuestDeviceOptions GuestDeviceOptions()
    {
        if (Get(CommonOptions.PeerName) is not null)
            throw new ArgumentException("--peer-name is for host-peer mode (--socket); a VM's name in the peer table is its QEMU -name");
        return new GuestDeviceOptions
        {
            Device = Get(CommonOptions.Device),
            Access = Get(CommonOptions.Access),
            Mapping = Get(CommonOptions.Map),
            Bind = Get(CommonOptions.Bind),
            Log = Note,
        };
    }

    /// <summary>
    /// The present peer named <paramref name="nameOrId"/>, waiting up to <paramref name="wait"/> for it
    /// to join the region. The daemon rings every peer's control vector when one joins, so the wait
    /// wakes at once; without interrupts it looks every 100 ms.
    /// </summary>
    public PeerEntry ResolvePeer(IvshmemEndpoint endpoint, string nameOrId, TimeSpan wait, CancellationToken cancellationToken)
    {
        DateTime deadline = wait == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + wait;
        bool noted = false;
        while (true)
        {
            long token = endpoint.Interrupts.Prepare();
            try
            {
                return endpoint.FindPeer(nameOrId);
            }
            catch (PeerGoneException e) when (DateTime.UtcNow < deadline)
            {
                if (!noted)
                {
                    Note($"waiting{(wait == Timeout.InfiniteTimeSpan ? "" : $" up to {wait.TotalSeconds:0} s")} for peer '{nameOrId}' to join ({e.Message})");
                    noted = true;
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (endpoint.GoingAwayReason is { } going) throw new PeerGoneException(going);
            if (endpoint.Interrupts is PollingWaiter) Thread.Sleep(100);
            else endpoint.Interrupts.Wait(token, 100);
        }
    }

    /// <summary>Opens a ring link to a peer with the given wait mode and stall timeout.</summary>
    public static RingLink OpenLink(IvshmemEndpoint endpoint, PeerEntry peer, WaitMode mode, TimeSpan stallTimeout) =>
        RingLink.Open(endpoint, peer, RingChannelOptions.Default with { WaitMode = mode, Timeout = stallTimeout }, Wakeups(endpoint));

    /// <summary>Doorbell interrupts taken so far, or -1 when this endpoint gets none.</summary>
    public static Func<long> Wakeups(IvshmemEndpoint endpoint) => endpoint switch
    {
        GuestDevice { HasInterrupts: true } device => () => device.InterruptCount,
        _ when endpoint.Interrupts is EventFdWaiter waiter => () => waiter.Count,
        _ => () => -1,
    };
}
