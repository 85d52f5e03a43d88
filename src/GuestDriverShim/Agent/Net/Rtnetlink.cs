using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using static Ivshmem.Interop;

namespace Ivshmem.Agent.Net;

/// <summary>An address of an interface of this machine (RTM_GETADDR).</summary>
internal sealed record InterfaceAddress(int Index, IPAddress Address, int PrefixLength, int Scope, uint Flags);

/// <summary>A route of the main table (RTM_GETROUTE dump).</summary>
internal sealed record KernelRoute(IPAddress? Destination, int PrefixLength, int OutputIndex, int Protocol, int Type);

/// <summary>How the kernel would send to one address now (RTM_GETROUTE for it, as 'ip route get').</summary>
internal sealed record RouteLookup(int Type, int OutputIndex, IPAddress? Source);

/// <summary>An interface of this machine (RTM_GETLINK dump); <paramref name="Kind"/> is the driver's
/// link kind ("tun", "veth"; empty for physical devices).</summary>
internal sealed record InterfaceLink(int Index, string Name, uint Flags, string Kind);

/// <summary>
/// The rtnetlink calls of <c>ivshmem-agent net</c>, over one NETLINK_ROUTE socket: host routes with
/// a protocol tag, route lookups, the machine's addresses and interfaces, the TUN device's MTU, queue
/// length, GSO size and up flag. One caller at a time (the agent's control thread). Layouts and
/// numbers: Interop.Netlink.cs; what each request does: docs/guest.md, "How net works".
/// </summary>
internal sealed class Rtnetlink : IDisposable
{
    private const int TimeoutMs = 5000;
    private readonly int _fd;
    private readonly byte[] _receive = new byte[64 * 1024];
    private uint _sequence;

    private Rtnetlink(int fd) => _fd = fd;

    public static Rtnetlink Open() => new(NetlinkOpen());

    /// <summary>Adds a /32 or /128 route to <paramref name="destination"/> through interface
    /// <paramref name="outputIndex"/>, with <paramref name="source"/> as the source of new connections.
    /// Returns 0 or the errno (EEXIST: there is one already).</summary>
    public int AddHostRoute(IPAddress destination, int outputIndex, IPAddress? source, int protocol, out string? kernelMessage)
    {
        var request = HostRoute(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, destination, outputIndex, protocol);
        if (source is not null) request.Attribute(RTA_PREFSRC, source);
        return Execute(request, out kernelMessage);
    }

    /// <summary>Deletes that route; returns 0 or the errno (ESRCH: it was not there).</summary>
    public int DeleteHostRoute(IPAddress destination, int prefixLength, int outputIndex, int protocol, out string? kernelMessage) =>
        Execute(HostRoute(RTM_DELROUTE, NLM_F_ACK, destination, outputIndex, protocol, prefixLength), out kernelMessage);

    /// <summary>Every route of the main table, both families.</summary>
    public List<KernelRoute> ListRoutes()
    {
        var routes = new List<KernelRoute>();
        foreach (NetlinkReply reply in Dump(new NetlinkRequest(RTM_GETROUTE, NLM_F_DUMP).Fixed(new rtmsg()), RTM_NEWROUTE))
        {
            var message = reply.Fixed<rtmsg>();
            var attributes = reply.Attributes<rtmsg>();
            int table = (int)(NetlinkReply.UInt32(attributes, RTA_TABLE) ?? message.rtm_table);
            if (table != RT_TABLE_MAIN) continue;
            routes.Add(new KernelRoute(NetlinkReply.Address(attributes, RTA_DST), message.rtm_dst_len,
                (int)(NetlinkReply.UInt32(attributes, RTA_OIF) ?? 0), message.rtm_protocol, message.rtm_type));
        }
        return routes;
    }

    /// <summary>How the kernel routes to <paramref name="destination"/> now; null with the errno when it
    /// cannot (ENETUNREACH, EHOSTUNREACH).</summary>
    public RouteLookup? Lookup(IPAddress destination, out int errno)
    {
        var request = new NetlinkRequest(RTM_GETROUTE, 0)
            .Fixed(new rtmsg { rtm_family = NetlinkRequest.Family(destination), rtm_dst_len = (byte)(destination.GetAddressBytes().Length * 8) })
            .Attribute(RTA_DST, destination);
        foreach (NetlinkReply reply in Exchange(request, out errno, out _))
        {
            if (reply.Type != RTM_NEWROUTE) continue;
            var message = reply.Fixed<rtmsg>();
            var attributes = reply.Attributes<rtmsg>();
            return new RouteLookup(message.rtm_type, (int)(NetlinkReply.UInt32(attributes, RTA_OIF) ?? 0), NetlinkReply.Address(attributes, RTA_PREFSRC));
        }
        return null;
    }

    /// <summary>Every address of every interface, both families.</summary>
    public List<InterfaceAddress> ListAddresses()
    {
        var addresses = new List<InterfaceAddress>();
        foreach (NetlinkReply reply in Dump(new NetlinkRequest(RTM_GETADDR, NLM_F_DUMP).Fixed(new ifaddrmsg()), RTM_NEWADDR))
        {
            var message = reply.Fixed<ifaddrmsg>();
            var attributes = reply.Attributes<ifaddrmsg>();
            // IPv4 says its own address in IFA_LOCAL (IFA_ADDRESS is the far end on point-to-point
            // links); IPv6 has only IFA_ADDRESS.
            IPAddress? address = NetlinkReply.Address(attributes, IFA_LOCAL) ?? NetlinkReply.Address(attributes, IFA_ADDRESS);
            if (address is null) continue;
            uint flags = NetlinkReply.UInt32(attributes, IFA_FLAGS) ?? message.ifa_flags;
            addresses.Add(new InterfaceAddress((int)message.ifa_index, address, message.ifa_prefixlen, message.ifa_scope, flags));
        }
        return addresses;
    }

    /// <summary>Every interface: index, name, flags.</summary>
    public List<InterfaceLink> ListLinks()
    {
        var links = new List<InterfaceLink>();
        foreach (NetlinkReply reply in Dump(new NetlinkRequest(RTM_GETLINK, NLM_F_DUMP).Fixed(new ifinfomsg()), RTM_NEWLINK))
        {
            var message = reply.Fixed<ifinfomsg>();
            var attributes = reply.Attributes<ifinfomsg>();
            string name = attributes.TryGetValue(IFLA_IFNAME, out byte[]? bytes) ? Text(bytes) : "";
            string kind = attributes.TryGetValue(IFLA_LINKINFO, out byte[]? info) && NetlinkReply.Nested(info).TryGetValue(IFLA_INFO_KIND, out byte[]? k) ? Text(k) : "";
            links.Add(new InterfaceLink(message.ifi_index, name, message.ifi_flags, kind));
        }
        return links;
    }

    /// <summary>Sets an interface's MTU and transmit queue length.</summary>
    public void SetMtuAndQueue(int index, int mtu, int queueLength) =>
        Check(Link(index).Attribute(IFLA_MTU, (uint)mtu).Attribute(IFLA_TXQLEN, (uint)queueLength), $"set MTU {mtu} and txqueuelen {queueLength} of interface {index}");

    /// <summary>Sets the largest GSO packet the stack hands this interface; returns 0 or the errno
    /// (kernels before 5.x cannot change it on a running device).</summary>
    public int SetGsoMaxSize(int index, int bytes, out string? kernelMessage) =>
        Execute(Link(index).Attribute(IFLA_GSO_MAX_SIZE, (uint)bytes), out kernelMessage);

    /// <summary>Brings an interface up.</summary>
    public void SetUp(int index)
    {
        var request = new NetlinkRequest(RTM_NEWLINK, NLM_F_ACK)
            .Fixed(new ifinfomsg { ifi_index = index, ifi_flags = IFF_UP, ifi_change = IFF_UP });
        Check(request, $"bring interface {index} up");
    }

    /// <summary>Adds an address with <paramref name="scope"/> to an interface.</summary>
    public void AddAddress(int index, IPAddress address, int prefixLength, int scope)
    {
        var request = new NetlinkRequest(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .Fixed(new ifaddrmsg { ifa_family = NetlinkRequest.Family(address), ifa_prefixlen = (byte)prefixLength, ifa_scope = (byte)scope, ifa_index = (uint)index })
            .Attribute(IFA_LOCAL, address)
            .Attribute(IFA_ADDRESS, address);
        Check(request, $"add address {address}/{prefixLength} to interface {index}");
    }

    /// <summary>Deletes an interface (a TUN device left behind, with its routes).</summary>
    public void DeleteLink(int index) =>
        Check(new NetlinkRequest(RTM_DELLINK, NLM_F_ACK).Fixed(new ifinfomsg { ifi_index = index }), $"delete interface {index}");

    public void Dispose() => Close(_fd);

    private static string Text(byte[] bytes) => Encoding.ASCII.GetString(bytes).TrimEnd('\0');

    private static NetlinkRequest Link(int index) =>
        new NetlinkRequest(RTM_NEWLINK, NLM_F_ACK).Fixed(new ifinfomsg { ifi_index = index });

    private static NetlinkRequest HostRoute(int type, int flags, IPAddress destination, int outputIndex, int protocol, int? prefixLength = null)
    {
        byte[] bytes = destination.GetAddressBytes();
        return new NetlinkRequest(type, flags)
            .Fixed(new rtmsg
            {
                rtm_family = NetlinkRequest.Family(destination),
                rtm_dst_len = (byte)(prefixLength ?? bytes.Length * 8),
                rtm_table = RT_TABLE_MAIN,
                rtm_protocol = (byte)protocol,
                // A delete matches any scope only with RT_SCOPE_NOWHERE (as 'ip route del' sends).
                rtm_scope = type == RTM_DELROUTE ? (byte)RT_SCOPE_NOWHERE : (byte)RT_SCOPE_LINK,
                rtm_type = RTN_UNICAST,
            })
            .Attribute(RTA_DST, bytes)
            .Attribute(RTA_OIF, (uint)outputIndex);
    }

    private void Check(NetlinkRequest request, string what)
    {
        int errno = Execute(request, out string? message);
        if (errno != 0) throw new NetlinkException(what, errno, message);
    }

    /// <summary>Sends a request that expects an ack; returns 0 or the errno it was refused with.</summary>
    private int Execute(NetlinkRequest request, out string? kernelMessage)
    {
        Exchange(request, out int errno, out kernelMessage);
        return errno;
    }

    private List<NetlinkReply> Dump(NetlinkRequest request, int expectedType)
    {
        List<NetlinkReply> replies = Exchange(request, out int errno, out string? message);
        if (errno != 0) throw new NetlinkException($"rtnetlink dump (type {request.Type})", errno, message);
        return replies.Where(r => r.Type == expectedType).ToList();
    }

    /// <summary>
    /// Sends <paramref name="request"/> and collects the replies with its sequence number until the
    /// exchange ends: an NLMSG_ERROR (the ack, error 0, or a refusal), NLMSG_DONE after a dump, or a
    /// single reply that is neither multi-part nor followed by an ack (a lookup). Replies to earlier,
    /// abandoned requests are skipped.
    /// </summary>
    private List<NetlinkReply> Exchange(NetlinkRequest request, out int errno, out string? kernelMessage)
    {
        uint sequence = ++_sequence;
        NetlinkSend(_fd, request.Finish(sequence));
        var replies = new List<NetlinkReply>();
        errno = 0;
        kernelMessage = null;
        int headerSize = Marshal.SizeOf<nlmsghdr>();
        while (true)
        {
            int n = NetlinkReceive(_fd, _receive, TimeoutMs);
            bool ended = false;
            for (int offset = 0; offset + headerSize <= n;)
            {
                var header = MemoryMarshal.Read<nlmsghdr>(_receive.AsSpan(offset));
                if (header.nlmsg_len < headerSize || offset + header.nlmsg_len > n)
                    throw new IOException($"rtnetlink sent a malformed reply (length {header.nlmsg_len} at {offset} of {n})");
                ReadOnlySpan<byte> body = _receive.AsSpan(offset + headerSize, (int)header.nlmsg_len - headerSize);
                offset += NetlinkRequest.Align((int)header.nlmsg_len);
                if (header.nlmsg_seq != sequence) continue;
                if (header.nlmsg_type == NLMSG_DONE) { ended = true; continue; }
                if (header.nlmsg_type == NLMSG_ERROR)
                {
                    (errno, kernelMessage) = ParseError(body, header.nlmsg_flags);
                    ended = true;
                    continue;
                }
                replies.Add(new NetlinkReply(header.nlmsg_type, header.nlmsg_flags, body.ToArray()));
                if ((header.nlmsg_flags & NLM_F_MULTI) == 0 && (request.Flags & NLM_F_ACK) == 0) ended = true;
            }
            if (ended) return replies;
        }
    }

    /// <summary>An NLMSG_ERROR: error 0 is the ack, a negative one is -errno; with NLM_F_ACK_TLVS the
    /// kernel's text follows the echoed request (all of it, or only its header when capped).</summary>
    private static (int Errno, string? Message) ParseError(ReadOnlySpan<byte> body, int flags)
    {
        if (body.Length < 4) return (Interop.EIO, "a truncated error reply");
        int error = BinaryPrimitives.ReadInt32LittleEndian(body);
        if (error == 0 || (flags & NLM_F_ACK_TLVS) == 0) return (-error, null);
        int headerSize = Marshal.SizeOf<nlmsghdr>();
        int offset = 4 + headerSize;
        // Not capped: the whole request is echoed, its length in the echoed header.
        if ((flags & NLM_F_CAPPED) == 0 && body.Length >= 4 + headerSize)
            offset = 4 + NetlinkRequest.Align((int)BinaryPrimitives.ReadUInt32LittleEndian(body[4..]));
        while (offset + 4 <= body.Length)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(body[offset..]);
            int type = BinaryPrimitives.ReadUInt16LittleEndian(body[(offset + 2)..]);
            if (length < 4 || offset + length > body.Length) break;
            if (type == NLMSGERR_ATTR_MSG) return (-error, Encoding.UTF8.GetString(body.Slice(offset + 4, length - 4)).TrimEnd('\0'));
            offset += NetlinkRequest.Align(length);
        }
        return (-error, null);
    }
}
