using System.CommandLine;
using System.Net;
using Ivshmem.Agent.Net;
using Ivshmem.Ring;
using Ivshmem.Peer;

namespace Ivshmem.Agent.Cli;

/// <summary><c>ivshmem-agent net</c> and <c>net status</c>: the transparent network path.</summary>
internal static class NetCommand
{
    public const string DefaultTun = "ivshm0";

    public static (Command Command, ManPage Page, Command Status, ManPage StatusPage) Create()
    {
        var address = new Option<IPAddress[]>("--address")
        {
            Description = "Announce this address of this machine to the peers (repeat it for several), instead of every address of its interfaces. Peers route to these addresses through the ring, and accept from this side only packets sent from them.",
            HelpName = "ADDR",
            AllowMultipleArgumentsPerToken = false,
            CustomParser = r =>
            {
                var addresses = new List<IPAddress>();
                foreach (var token in r.Tokens)
                {
                    if (IPAddress.TryParse(token.Value, out IPAddress? parsed) && !token.Value.Contains('/')) addresses.Add(parsed);
                    else r.AddError($"'{token.Value}' is not an IPv4 or IPv6 address");
                }
                return [.. addresses];
            },
        };
        Option<string> tun = TunOption("The name of the TUN device to create");
        var mtu = new Option<int?>("--mtu")
        {
            Description = "The TUN device's MTU, 1280 to 65535. Default: the largest a ring record carries, at most 65535. A large MTU makes packets large for connections opened while the ring is in use; with offloads, TCP sends 64 KiB packets whatever the MTU.",
            HelpName = "BYTES",
        };
        var noOffload = new Option<bool>("--no-offload")
        {
            Description = "Do not take offloaded packets from the kernel (checksum and TSO): every packet is at most MTU bytes and carries its full checksum. For measuring what the offloads bring; slower.",
        };
        var noWait = new Option<bool>("--no-wait-for-device")
        {
            Description = "In a guest: exit when there is no ivshmem device at the start (status 1) or when it is unplugged (status 3), instead of waiting for one to be hot-added. Host peers (--socket) never wait.",
        };
        var waitMode = CommonOptions.WaitModeOption(WaitMode.SpinThenBlock);
        var command = new Command("net", Page.Summary) { address, tun, mtu, noOffload, noWait, waitMode };
        command.Validators.Add(r =>
        {
            if (r.GetValue(mtu) is int m && (m < NetAgent.MinMtu || m > 65535)) r.AddError($"--mtu {m} is not 1280..65535 (IPv6 needs at least 1280)");
            if (r.GetValue(tun) is { } name && TunNameProblem(name) is { } problem) r.AddError(problem);
        });
        command.SetAction((parse, ct) =>
        {
            var context = new AgentContext(parse);
            var options = new NetOptions(parse.GetValue(tun) ?? DefaultTun, parse.GetValue(address) is { Length: > 0 } given ? given : null,
                parse.GetValue(mtu), !parse.GetValue(noOffload), parse.GetValue(waitMode));
            if (!context.IsHostPeer && !parse.GetValue(noWait)) return Task.FromResult(NetDeviceLoop.Run(context, options, ct));
            using var endpoint = context.OpenEndpoint();
            using var agent = NetAgent.Start(options, context.Report, endpoint.Region.Geometry.MaxPayload);
            agent.Attach(endpoint);
            if (agent.Run(ct) == NetRunEnd.DeviceGoingAway)
                throw new PeerGoneException(endpoint.GoingAwayReason ?? "the device is being unplugged");
            return Task.FromResult(ExitCodes.Ok);
        });

        var json = new Option<bool>("--json") { Description = "Print the status document as it comes (JSON), not as text." };
        Option<string> statusTun = TunOption("The TUN device of the net to ask");
        var status = new Command("status", StatusPage.Summary) { json, statusTun };
        status.SetAction(parse =>
        {
            string document = StatusServer.Query(parse.GetValue(statusTun) ?? DefaultTun);
            var output = parse.InvocationConfiguration.Output;
            output.Write(parse.GetValue(json) ? document : NetStatusText.Format(document));
            return ExitCodes.Ok;
        });
        command.Add(status);
        return (command, Page, status, StatusPage);
    }

    private static Option<string> TunOption(string what) => new("--tun")
    {
        Description = $"{what}.",
        HelpName = "NAME",
        DefaultValueFactory = _ => DefaultTun,
    };

    private static string? TunNameProblem(string name) =>
        name.Length is 0 or > 15 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            ? $"--tun '{name}' is not a device name: 1 to 15 letters, digits, - _ ."
            : null;

    private static readonly ManPage Page = new()
    {
        Summary = "route IP traffic to co-resident peers through shared memory",
        Synopsis =
        [
            "ivshmem-agent net [--address ADDR]... [--tun NAME] [--mtu BYTES] [--no-offload] [--no-wait-for-device] [--wait-mode MODE]",
            "ivshmem-agent net status [--json] [--tun NAME]",
        ],
        Description =
        [
            "Makes unmodified programs use the ring when the machine they talk to is a peer of the same region, and the network otherwise, with the same addresses and the same connections. net creates a TUN device, announces this machine's addresses to every other peer of the region over the ring, and learns theirs. For each peer that also runs net and answers, it installs a host route (/32, /128) to each of the peer's addresses through the device, keeping the source address; packets for those addresses then go into the ring as records, and come out of the peer's device. Routes are changed through rtnetlink; nothing else is touched but what FILES and docs/guest.md list.",
            "Residency is detected, not configured: a peer gets routes while it is in the peer table and its net answers (a heartbeat every 100 ms), and loses them within a second when it leaves, its net stops or says nothing for 0.4 s. Traffic to it then goes through the network again. Open TCP connections survive either switch: TCP resends what was in flight.",
            "Packets travel with their virtio header, so with offloads (the default) one record carries a TSO packet of up to 64 KiB. A full ring is backpressure: net waits for the peer to read, and marks a peer that reads nothing for 200 ms stalled, removing its routes, so that it cannot hold up the others.",
            "A peer's announcement is checked: an address that is not a unicast address, one of this machine's own, one another peer announced first, or one this machine has no route to over the network gets no route, and the log says why; more than 64 addresses, or a malformed announcement, get none at all. Packets from a peer must come from one of its accepted addresses and go to one of ours.",
            "In a guest, net outlives its ivshmem device. When the device is being unplugged (vfio-pci relays the kernel's request; without VFIO, the device's remove uevent), net removes every route, logging 'the device is being unplugged' as the reason, says nothing more on the ring, and releases the device (every mapping, device, group and container), logging how many milliseconds after the request; traffic goes through the network again. It then waits, answering 'net status' with 'waiting for an ivshmem device'. A device that is hot-added (seen through its uevent, used once its shared memory BAR has an address) is bound to vfio-pci when the earlier one used VFIO or the vfio-pci driver is loaded, opened and joined; routes come back, and open TCP connections move back to the ring. net also starts without a device and waits for one. The TUN device stays across. --no-wait-for-device exits instead.",
            "net runs in the foreground as root (it needs CAP_NET_ADMIN) until SIGINT or SIGTERM; then it removes its routes, tells the peers, and the device goes with the process. After a crash the kernel removes the device and its routes; the next start also removes any route of net's (protocol 73) that no running net holds. Every route added or removed is logged on standard error with the peer and the reason.",
            "'net status' asks the running net (through its socket) and prints per peer its state and why, its addresses, the routes, packets and bytes each way, and what was dropped. 'ip -s link show NAME' shows the device's own counters.",
        ],
        ExitStatus =
        [
            new("0", "Stopped by SIGINT or SIGTERM, everything removed; for 'status': printed."),
            new("1", "Failure: not root, no device or region, another net runs with this TUN name, an --address that is not this machine's; for 'status': no net runs with that TUN name."),
            new("2", "Usage error."),
            new("3", "This side left the region (the daemon dropped it), or, with --no-wait-for-device, its device was unplugged."),
        ],
        Files =
        [
            new("/dev/net/tun", "Where the TUN device is created (the tun module)."),
            new("/run/ivshmem-agent/NAME.sock", "The status socket of the net running with TUN device NAME (mode 0600)."),
            new("/proc/sys/net/ipv6/conf/NAME/addr_gen_mode", "Set to 1 before the device goes up: no link-local address, so the kernel sends no router solicitations into it."),
            new("/proc/sys/net/ipv4/conf/NAME/rp_filter", "Set to 0 on the device; if net.ipv4.conf.all.rp_filter is 2, the device also gets 169.254.73.1/32, without which loose filtering drops what arrives on it."),
        ],
        Examples =
        [
            new("ivshmem-agent --bind net", "In each VM, as root: from now on, traffic between VMs of the region goes through shared memory."),
            new("ivshmem-agent -S /run/ivshmemd/r.sock net --address 10.0.0.1", "A host process as a peer of region r, announcing one address."),
            new("ivshmem-agent net status", "What the running net does, peer by peer."),
        ],
        SeeAlso = ["ivshmem-agent forward --help", "ip-route(8)", "docs/guest.md"],
    };

    private static readonly ManPage StatusPage = new()
    {
        Summary = "show what a running 'ivshmem-agent net' does",
        Synopsis = ["ivshmem-agent net status [--json] [--tun NAME]"],
        Description =
        [
            "Asks the net running with TUN device NAME (through /run/ivshmem-agent/NAME.sock) and prints the device's settings and this side's addresses, then per peer: its state (up, or down and why), the addresses it announced that got routes and the ones refused with the reason, the routes installed, packets and bytes to and from it, and the packets dropped (down: no route any more; stalled: its ring stayed full; too big: larger than a ring record; invalid: not from its addresses or not to ours; refused by kernel: the TUN device would not take it) and how often it stalled.",
            "--json prints the document as net sends it: tun, ifindex, mtu, offload, wait_mode, device ('attached', or what net waits for while it has no ivshmem device: then name is empty, id -1 and peers empty), name, id, instance, addresses, unroutable_packets, packet_threads_allocated_bytes (what the two packet threads allocated so far: it does not grow with the packets), and peers, each with name, id, slot, state, reason, addresses, refused, routes, to_peer and from_peer (packets, bytes), dropped (down, stalled, too_big, invalid, refused_by_kernel), stalls, foreign_records.",
        ],
        ExitStatus =
        [
            new("0", "Printed."),
            new("1", "No net runs with that TUN device name (or this user may not ask it: the socket is root's)."),
            new("2", "Usage error."),
        ],
        Examples =
        [
            new("ivshmem-agent net status --json | jq '.peers[] | {name, state, routes}'", "Which peers have routes."),
        ],
        SeeAlso = ["ivshmem-agent net --help"],
    };
}
