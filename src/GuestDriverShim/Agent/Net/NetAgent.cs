using System.Net;
using System.Net.Sockets;
using Ivshmem.Agent.Protocol;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Net;

/// <summary>How <see cref="NetAgent.Run"/> ended.</summary>
internal enum NetRunEnd
{
    /// <summary>SIGINT or SIGTERM: routes removed, peers told, threads stopped.</summary>
    Stopped,

    /// <summary>The device is being unplugged: routes removed, nothing more said on the ring, threads
    /// stopped; the caller releases the endpoint now (docs/guest.md, "When the device comes and goes").</summary>
    DeviceGoingAway,
}

/// <summary>What 'ivshmem-agent net' was asked for.</summary>
/// <param name="Addresses">--address, or null: announce this machine's own addresses.</param>
/// <param name="Mtu">--mtu, or null: the largest the ring carries, up to 65535.</param>
internal sealed record NetOptions(string TunName, IReadOnlyList<IPAddress>? Addresses, int? Mtu, bool Offload, WaitMode WaitMode);

/// <summary>
/// <c>ivshmem-agent net</c>: the TUN device, the peers of the region that also run net, and the host
/// routes that send this machine's packets for them through the ring instead of the network. This is
/// the control loop (setup, a tick every <see cref="NetTimings.ControlTick"/>: the peer table, each
/// peer's state, the routes; shutdown); <see cref="TunToRing"/> and <see cref="RingToTun"/> move the
/// packets. How it works, what it changes and how it is turned off: docs/guest.md, "The transparent
/// path: net".
/// <para>The TUN device, its settings, the status socket and this machine's addresses outlive the
/// ivshmem device: an endpoint is attached (<see cref="Attach"/>), runs (<see cref="Run"/>) until it
/// stops or its device is being unplugged, and a later one may be attached to the same agent. The
/// device is kept across rather than created again: nothing routes to it in between (the routes
/// went with the old device), its name, index and settings stay what 'net status', ip and the
/// firewall know, and nothing has to be undone and redone (docs/guest.md, "When the device comes
/// and goes").</para>
/// </summary>
internal sealed partial class NetAgent : IDisposable
{
    /// <summary>The TUN device's transmit queue: at a switch to the ring the whole congestion window of
    /// the faster network path lands on it at once, and the default 500 packets overflow (TCP then
    /// waits for its 200 ms retransmission timeout).</summary>
    public const int TxQueueLength = 5000;

    /// <summary>IPv6 leaves a device whose MTU is below this.</summary>
    public const int MinMtu = 1280;

    /// <summary>Given to the TUN device when rp_filter is loose (2): loose mode drops every packet
    /// that arrives on a device with no IPv4 address, and a link-local /32 is an address nothing routes to.</summary>
    public static readonly IPAddress LooseFilterAddress = IPAddress.Parse("169.254.73.1");

    private readonly NetOptions _options;
    private readonly Action<string> _log;
    private readonly Rtnetlink _netlink;
    private readonly TunDevice _tun;
    private readonly int _tunIndex;
    private readonly RouteKeeper _routes;
    private readonly StatusServer _status;
    private readonly Queue<TaskCompletionSource<string>> _statusRequests = new();
    private readonly SemaphoreSlim _controlWake = new(0);
    private IvshmemEndpoint? _endpoint;
    private NetPlane? _plane;
    private CancellationTokenRegistration _goingAwayWake;
    private string _waitingFor = "waiting for an ivshmem device";
    private List<IPAddress> _announced;
    private HashSet<IPAddress> _allLocal;
    private long _generation = -1;
    private long _nextRescan;
    private Thread? _sender;
    private Thread? _receiver;

    private NetAgent(NetOptions options, Action<string> log, Rtnetlink netlink, TunDevice tun, int tunIndex,
        int mtu, List<IPAddress> announced)
    {
        _options = options;
        _log = log;
        _netlink = netlink;
        _tun = tun;
        _tunIndex = tunIndex;
        Mtu = mtu;
        _routes = new RouteKeeper(netlink, tunIndex, tun.Name, log);
        _announced = announced;
        _allLocal = LocalAddresses.All(netlink);
        _status = StatusServer.Start(tun.Name, RequestStatus);
    }

    public int Mtu { get; private set; }

    /// <summary>True while an endpoint is attached.</summary>
    public bool Attached => _plane is not null;

    private NetPlane Plane => _plane ?? throw new InvalidOperationException("net has no ivshmem device attached");

    private IvshmemEndpoint Endpoint => _endpoint ?? throw new InvalidOperationException("net has no ivshmem device attached");

    /// <summary>
    /// Sets everything up: removes what an earlier run left behind, creates and configures the TUN
    /// device, decides what to announce, opens the status socket. <paramref name="maxRecord"/>: the
    /// largest record of the first region's rings when a device is there already (the MTU follows
    /// it), or null. Throws saying what is wrong (another net on this device name, a region too
    /// small, an address that is not ours).
    /// </summary>
    public static NetAgent Start(NetOptions options, Action<string> log, int? maxRecord)
    {
        if (maxRecord is int limit) CheckRecordSize(limit);
        if (StatusServer.Answers(options.TunName))
            throw new ArgumentException($"'ivshmem-agent net' already runs with the TUN device {options.TunName} (it answers on {StatusServer.PathOf(options.TunName)}); stop it first, or choose another name with --tun");
        var netlink = Rtnetlink.Open();
        TunDevice? tun = null;
        try
        {
            RemoveLeftovers(netlink, options.TunName, log);
            tun = TunDevice.Create(options.TunName, options.Offload);
            int index = netlink.ListLinks().FirstOrDefault(l => l.Name == tun.Name)?.Index
                ?? throw new IOException($"the TUN device {tun.Name} was created but the kernel does not list it");
            int mtu = Configure(netlink, tun, index, options.Mtu, maxRecord ?? Interop.VirtioNetHdrSize + 65535, log);
            List<IPAddress> announced = options.Addresses is { } given
                ? LocalAddresses.Given(given, netlink)
                : LocalAddresses.ToAnnounce(netlink, index, log);
            var agent = new NetAgent(options, log, netlink, tun, index, mtu, announced);
            log($"{tun.Name} is up: mtu {mtu}, offloads {(tun.Offload ? "on (checksum, TSO4, TSO6)" : "off")}, txqueuelen {TxQueueLength}; " +
                $"announcing {Describe(announced)}");
            return agent;
        }
        catch
        {
            tun?.Dispose();
            netlink.Dispose();
            throw;
        }
    }

    /// <summary>The region's records must carry an IPv6 packet of the minimum MTU and its virtio header.</summary>
    public static void CheckRecordSize(int maxRecord)
    {
        if (maxRecord < Interop.VirtioNetHdrSize + MinMtu)
            throw new ArgumentException($"the region's rings carry records of at most {maxRecord} bytes; net needs {Interop.VirtioNetHdrSize + MinMtu} (an IPv6 packet of {MinMtu} bytes and its header): give the region more memory or fewer peers");
    }

    /// <summary>
    /// Takes <paramref name="endpoint"/> as this side's place in a region: a new instance, a new
    /// announcement, the MTU fitted to the region's records. The caller keeps owning the endpoint.
    /// </summary>
    public void Attach(IvshmemEndpoint endpoint)
    {
        if (_plane is not null) throw new InvalidOperationException("net has an ivshmem device attached already");
        int maxRecord = endpoint.Region.Geometry.MaxPayload;
        CheckRecordSize(maxRecord);
        FitMtu(maxRecord);
        _endpoint = endpoint;
        // ConversationMessage.NewId, not RandomNumberGenerator: on Linux that needs OpenSSL (libssl),
        // which the test guest lacks; net aborted there ("No usable version of libssl was found").
        ulong instance = ConversationMessage.NewId();
        _plane = new NetPlane(endpoint, endpoint.Self, _tun, instance, _options.WaitMode, _controlWake);
        _generation = -1;
        _nextRescan = 0;
        PublishAnnouncement();
        _goingAwayWake = endpoint.GoingAway.Register(WakeControl);
        _log($"joined the region as {endpoint.Self.Name} (id {endpoint.OwnId}); announcing {Describe(_announced)} to its peers");
    }

    /// <summary>
    /// Runs the attached endpoint until <paramref name="cancellationToken"/> (SIGINT/SIGTERM: every
    /// route removed, the peers told, <see cref="NetRunEnd.Stopped"/>) or until its device is being
    /// unplugged (every route removed with that reason, nothing more said on the ring, the packet
    /// threads stopped: <see cref="NetRunEnd.DeviceGoingAway"/>; the caller then releases the
    /// endpoint, and may attach another). Either way the endpoint is detached on return.
    /// </summary>
    public NetRunEnd Run(CancellationToken cancellationToken)
    {
        _sender = new Thread(new TunToRing(Plane).Run) { IsBackground = true, Name = "net: tun to ring" };
        _receiver = new Thread(new RingToTun(Plane).Run) { IsBackground = true, Name = "net: ring to tun" };
        _sender.Start();
        _receiver.Start();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (Endpoint.GoingAwayReason is { } going)
                {
                    LetGo(going);
                    return NetRunEnd.DeviceGoingAway;
                }
                try
                {
                    if (Plane.Failure is { } failure) throw new IOException($"net's packet path failed: {failure.Message}", failure);
                    Tick();
                }
                catch (Exception e) when (e is IvshmemException or IOException)
                {
                    // What a device on its way out shows (a region read back as garbage) is not a fault of net's.
                    if (!DeviceIsGoing()) throw;
                    continue;
                }
                try { _controlWake.Wait(NetTimings.ControlTick, cancellationToken); }
                catch (OperationCanceledException) { break; }
            }
        }
        finally
        {
            Stop();
            Detach();
        }
        return NetRunEnd.Stopped;
    }

    /// <summary>
    /// While no device is attached: asks <paramref name="tryOpen"/> for one again and again (each call
    /// may wait up to the time it is given) and answers 'net status' meanwhile. Returns the endpoint,
    /// or null when <paramref name="cancellationToken"/> fires first.
    /// </summary>
    public TEndpoint? WaitForEndpoint<TEndpoint>(Func<TimeSpan, TEndpoint?> tryOpen, string why, CancellationToken cancellationToken)
        where TEndpoint : IvshmemEndpoint
    {
        _waitingFor = why;
        _log(why);
        while (!cancellationToken.IsCancellationRequested)
        {
            AnswerStatusRequests();
            while (_controlWake.CurrentCount > 0) _controlWake.Wait(0, CancellationToken.None);
            TEndpoint? endpoint;
            try { endpoint = tryOpen(NetTimings.ControlTick); }
            catch (OperationCanceledException) { break; }
            if (endpoint is not null) return endpoint;
        }
        return null;
    }

    public void Dispose()
    {
        Stop();
        Detach();
        lock (_statusRequests)
            while (_statusRequests.TryDequeue(out var request)) request.TrySetCanceled();
        _status.Dispose();
        _tun.Dispose();
        _netlink.Dispose();
        _controlWake.Dispose();
    }

    /// <summary>
    /// True when the device is going away, waiting a moment for its watch to say so: without VFIO the
    /// kernel removes the device first and sends the uevent after, so the region may read back as
    /// garbage before the watch fires (docs/guest.md, "When the device comes and goes").
    /// </summary>
    private bool DeviceIsGoing()
    {
        if (Endpoint.GoingAwayReason is not null) return true;
        if (!Endpoint.GoingAway.CanBeCanceled) return false;
        Endpoint.GoingAway.WaitHandle.WaitOne(NetTimings.DeviceGoneGrace);
        return Endpoint.GoingAwayReason is not null;
    }

    private void WakeControl()
    {
        try
        {
            if (_controlWake.CurrentCount == 0) _controlWake.Release();
        }
        catch (ObjectDisposedException) { /* stopping */ }
    }

    /// <summary>
    /// The device is being unplugged: every route goes (so the kernel sends the peers' traffic over
    /// the network again), the packet threads stop without another word on the ring, and the plane
    /// goes; then the caller releases the device.
    /// </summary>
    private void LetGo(string reason)
    {
        int removed = 0;
        foreach (PeerLink link in Plane.Links)
        {
            removed += link.Routes.Count;
            TakeDown(link, reason);
        }
        Plane.Silent = true;
        Plane.SenderStop = true;
        Plane.WakeSender();
        _sender!.Join();
        Plane.ReceiverStop = true;
        _receiver!.Join();
        _sender = null;
        _log($"{reason}: {removed} route{(removed == 1 ? "" : "s")} removed, nothing more said on the ring; releasing the device");
    }

    private void Detach()
    {
        if (_plane is null) return;
        _goingAwayWake.Dispose();
        _plane.Dispose();
        _plane = null;
        _endpoint = null;
    }

    /// <summary>One look at everything: this side still in the region, peers that came and went, our
    /// addresses, each peer's state and routes, status requests.</summary>
    private void Tick()
    {
        PeerTable peers = Endpoint.Region.Peers;
        PeerEntry self = Plane.Self;
        if (!peers.IsPresentWithEpoch(self.Slot, self.Epoch))
            throw new PeerGoneException($"this side ({self.Name}, id {self.PeerId}) is no longer in the region's peer table: the daemon dropped it");
        if (peers.Generation != _generation) SyncLinks();
        long now = NetPlane.Now;
        if (now >= _nextRescan)
        {
            _nextRescan = now + NetPlane.Ticks(NetTimings.AddressRescan);
            RescanAddresses();
        }
        foreach (PeerLink link in Plane.Links) Evaluate(link, now);
        AnswerStatusRequests();
    }

    /// <summary>Peers that joined get a link (and our announcement); peers that left lose theirs and their routes.</summary>
    private void SyncLinks()
    {
        PeerTable peers = Endpoint.Region.Peers;
        _generation = peers.Generation;
        PeerEntry self = Plane.Self;
        List<PeerEntry> present = peers.ReadPresent().Where(p => p.Slot != self.Slot && p.PeerId != self.PeerId).ToList();
        var links = new List<PeerLink>();
        bool retired = false;
        foreach (PeerLink link in Plane.Links)
        {
            if (present.Any(p => p.Slot == link.Peer.Slot && p.Epoch == link.Peer.Epoch))
            {
                links.Add(link);
                continue;
            }
            TakeDown(link, "it left the region");
            link.Retired = true;
            retired = true;
            _log($"peer {link.Label} left the region");
        }
        foreach (PeerEntry peer in present)
        {
            if (links.Any(l => l.Peer.Slot == peer.Slot && l.Peer.Epoch == peer.Epoch)) continue;
            links.Add(new PeerLink(peer, Endpoint.Doorbell(peer.PeerId, Endpoint.DataVector)));
        }
        Plane.Links = [.. links];
        Plane.WakeSender();
        // An address a departed peer held may now be another's.
        if (retired) ScreenAll();
    }

    private void RescanAddresses()
    {
        HashSet<IPAddress> all = LocalAddresses.All(_netlink);
        bool localChanged = !all.SetEquals(_allLocal);
        _allLocal = all;
        if (_options.Addresses is null)
        {
            List<IPAddress> announced = LocalAddresses.ToAnnounce(_netlink, _tunIndex, _log);
            if (!announced.SequenceEqual(_announced))
            {
                _announced = announced;
                _log($"this machine's addresses changed: announcing {Describe(announced)}");
                PublishAnnouncement();
                foreach (PeerLink link in Plane.Links) link.AnnounceWanted = true;
                Plane.WakeSender();
            }
        }
        if (localChanged) ScreenAll();
    }

    private void PublishAnnouncement()
    {
        Plane.LocalAddresses = _announced.Select(IpKey.Of).ToHashSet();
        Plane.Announcement = NetRecords.EncodeAnnounce(Plane.Instance, _announced);
    }

    /// <summary>Brings a link up or down as its state says, and keeps an up link's routes in step with
    /// what its peer announced. Also logs what the packet threads noticed on it.</summary>
    private void Evaluate(PeerLink link, long now)
    {
        if (link.Retired) return;
        if (link.InvalidPacketNote is { } note && !link.InvalidNoted)
        {
            link.InvalidNoted = true;
            _log($"peer {link.Label} sent {note}; such packets are dropped and counted ('net status')");
        }
        if (link.Announcement is { } announcement && announcement.Sequence != link.SeenAnnouncement)
        {
            link.SeenAnnouncement = announcement.Sequence;
            Screen(link, announcement);
        }
        string? down = DownReason(link, now);
        if (down is null)
        {
            if (!link.Up && now >= link.RetryAt) BringUp(link, now);
            else if (link.Up) SyncRoutes(link);
            return;
        }
        if (link.Up)
        {
            TakeDown(link, down);
            return;
        }
        // A peer that never came up: say why once per reason, except for the moments of every
        // handshake (not yet accepted) and a refused announcement (Screen said so already).
        if (down != link.Reason && link.Announcement is not null
            && !down.StartsWith("it has not accepted", StringComparison.Ordinal) && !down.StartsWith("its announcement was refused", StringComparison.Ordinal))
            _log($"peer {link.Label} gets no routes: {down}");
        link.State = "down";
        link.Reason = down;
    }

    /// <summary>Why the peer must not have routes now, or null when it may.</summary>
    private string? DownReason(PeerLink link, long now)
    {
        if (link.Broken is { } broken) return $"its ring is broken: {broken}";
        if (link.Announcement is not { } announcement) return "its net has not answered";
        if (announcement.Error is { } error) return $"its announcement was refused: {error}";
        if (link.SaidBye) return "its net stopped (it said bye)";
        if (link.Accepted.Count == 0) return "none of its addresses can be routed to";
        if (now - Volatile.Read(ref link.LastHeard) > NetPlane.Ticks(NetTimings.SilenceLimit))
            return $"no answer for {NetTimings.SilenceLimit.TotalSeconds:0.0} s";
        if (Volatile.Read(ref link.PeerHeard) != (long)Plane.Instance) return "it has not accepted our announcement";
        if (link.Stalled) return $"stalled: its ring stayed full for {NetTimings.StallLimit.TotalMilliseconds:0} ms with nothing read";
        return null;
    }

    private void BringUp(PeerLink link, long now)
    {
        // The destinations are published before the kernel routes any packet to the device, so the
        // sender knows every packet it is handed.
        link.Up = true;
        PublishDestinations();
        foreach (IPAddress address in link.Accepted) AddRoute(link, address, "it is up");
        if (link.Routes.Count == 0)
        {
            link.Up = false;
            PublishDestinations();
            link.Reason = "no route to it could be installed (see the log)";
            // Not again at every tick: the log would fill with the same refusal.
            link.RetryAt = now + NetPlane.Ticks(NetTimings.RouteRetry);
            return;
        }
        link.State = "up";
        link.Reason = "";
        _log($"peer {link.Label} is up: traffic to {Describe(link.Routes.Keys.ToList())} goes through the ring");
    }

    private void TakeDown(PeerLink link, string reason)
    {
        if (!link.Up && link.Routes.Count == 0) return;
        // Routes first: from then on the kernel sends nothing more for the peer to the device.
        _routes.RemoveAll(link, reason);
        link.Up = false;
        PublishDestinations();
        link.State = "down";
        link.Reason = reason;
        _log($"peer {link.Label} is down: {reason}; its traffic goes through the network again");
    }

    /// <summary>An up peer announced other addresses: routes follow.</summary>
    private void SyncRoutes(PeerLink link)
    {
        bool changed = false;
        foreach (IPAddress gone in link.Routes.Keys.Where(a => !link.Accepted.Contains(a)).ToList())
        {
            _routes.Remove(link, gone, "it no longer announces it");
            changed = true;
        }
        foreach (IPAddress added in link.Accepted.Where(a => !link.Routes.ContainsKey(a)).ToList())
            changed |= AddRoute(link, added, "it announced it");
        if (changed) PublishDestinations();
    }

    private bool AddRoute(PeerLink link, IPAddress destination, string reason)
    {
        IPAddress? source = SourceFor(destination);
        if (source is null)
        {
            link.Reason = $"this side announces no {(destination.AddressFamily == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address to send to {destination} from";
            return false;
        }
        return _routes.Add(link, destination, source, reason);
    }

    /// <summary>
    /// The source address of the route to <paramref name="destination"/>: the one the kernel picks for
    /// it now over the normal network (so new connections look as before), if this side announced it;
    /// else the first announced address of that family (the peer accepts packets only from announced
    /// addresses).
    /// </summary>
    private IPAddress? SourceFor(IPAddress destination)
    {
        RouteLookup? now = _netlink.Lookup(destination, out _);
        if (now?.Source is { } source && now.OutputIndex != _tunIndex && _announced.Contains(source)) return source;
        return _announced.FirstOrDefault(a => a.AddressFamily == destination.AddressFamily);
    }

    private void PublishDestinations()
    {
        var destinations = new Dictionary<UInt128, PeerLink>();
        foreach (PeerLink link in Plane.Links)
        {
            if (!link.Up || link.Retired) continue;
            foreach (IPAddress address in link.Accepted) destinations[IpKey.Of(address)] = link;
        }
        Plane.Destinations = destinations;
        PeerLink[] up = [.. Plane.Links.Where(l => l.Up && !l.Retired)];
        Plane.SoleUpLink = up.Length == 1 ? up[0] : null;
    }

    private static string Describe(IReadOnlyCollection<IPAddress> addresses) =>
        addresses.Count == 0 ? "no address" : string.Join(", ", addresses);

    private void Stop()
    {
        if (_sender is null) return;
        int removed = 0;
        foreach (PeerLink link in Plane.Links)
        {
            removed += link.Routes.Count;
            TakeDown(link, "net is stopping");
        }
        Plane.SenderStop = true;
        Plane.WakeSender();
        _sender.Join();
        // Peers may still send until they read the bye: deliver that for a moment.
        Thread.Sleep(NetTimings.DrainOnStop);
        Plane.ReceiverStop = true;
        _receiver!.Join();
        _sender = null;
        _log($"stopped: {removed} route{(removed == 1 ? "" : "s")} removed, the peers told; {_tun.Name} goes with this process");
    }
}
