using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Ivshmem.Agent.Forwarding;
using Ivshmem.Agent.Links;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary><c>ivshmem-agent forward</c>: socket connections carried over the ring.</summary>
internal static class ForwardCommand
{
    public static (Command, ManPage) Create()
    {
        var listen = new Option<string>("--listen", "-l") { Description = "Listen here and carry every accepted connection to the peer given by --to: tcp:HOST:PORT, HOST:PORT, PORT (on 127.0.0.1), unix:PATH or /PATH.", HelpName = "ADDR" };
        var to = CommonOptions.To("whose 'forward --connect' takes the connections");
        var connect = new Option<string>("--connect", "-c") { Description = "Connect every connection the peer given by --from carries over to this address: tcp:HOST:PORT, HOST:PORT, unix:PATH or /PATH. The address is chosen here, never by the peer.", HelpName = "ADDR" };
        var from = CommonOptions.From("whose 'forward --listen' connections to take");
        var once = new Option<bool>("--once") { Description = "--listen: exit after the first connection has closed. --connect: serve one peer session, then exit." };
        var wait = CommonOptions.Wait("for the peer to join the region (and, with --listen, for its 'forward --connect' to answer)", 30);
        var command = new Command("forward", Page.Summary) { listen, to, connect, from, once, wait };
        command.Validators.Add(r =>
        {
            bool l = r.GetResult(listen) is not null, c = r.GetResult(connect) is not null;
            if (l == c) r.AddError("give either --listen ADDR --to PEER, or --connect ADDR --from PEER");
            else if (l && (r.GetResult(to) is null || r.GetResult(from) is not null)) r.AddError("--listen goes with --to PEER");
            else if (c && (r.GetResult(from) is null || r.GetResult(to) is not null)) r.AddError("--connect goes with --from PEER");
        });
        command.SetAction((parse, ct) =>
        {
            var context = new AgentContext(parse);
            using var endpoint = context.OpenEndpoint();
            TimeSpan waitFor = CommonOptions.Seconds(parse.GetValue(wait));
            string peerName = parse.GetValue(to) ?? parse.GetRequiredValue(from);
            PeerEntry peer = context.ResolvePeer(endpoint, peerName, waitFor, ct);
            // Forwarded connections may sit idle for hours: no stall timeout (a peer that leaves is
            // still noticed through the peer table).
            using RingLink link = AgentContext.OpenLink(endpoint, peer, WaitMode.SpinThenBlock, Timeout.InfiniteTimeSpan);
            try
            {
                if (parse.GetValue(listen) is { } address)
                {
                    EndPoint endPoint = Addresses.ParseListen(address);
                    using Socket listener = ForwardSession.Bind(endPoint);
                    context.Note($"forwarding connections to {endPoint} over the ring to {link.PeerLabel}");
                    try { ForwardSession.Listen(link, listener, parse.GetValue(once), waitFor, context.Note, ct); }
                    finally { ForwardSession.Unbind(endPoint); }
                }
                else
                {
                    EndPoint target = Addresses.ParseConnect(parse.GetRequiredValue(connect));
                    context.Note($"taking connections from {link.PeerLabel} to {target}");
                    ForwardSession.Connect(link, target, parse.GetValue(once), context.Note, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // SIGINT/SIGTERM is how a forwarder is stopped: not an error.
                context.Note("stopped");
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return (command, Page);
    }

    private static readonly ManPage Page = new()
    {
        Summary = "carry socket connections to a peer over shared memory",
        Synopsis =
        [
            "ivshmem-agent forward --listen ADDR --to PEER [--once]",
            "ivshmem-agent forward --connect ADDR --from PEER [--once]",
        ],
        Description =
        [
            "Lets unmodified programs talk through shared memory. One side listens on a local TCP or UNIX socket (--listen); every connection accepted there is carried over the ring to PEER, whose 'forward --connect' opens a connection to its target address and copies the bytes both ways. End of stream is passed on in each direction separately (half-close), so request/response protocols that close their sending side work.",
            "Many connections share the ring at once. Each has its own window of 256 KiB per direction: a side sends only as much as the other has room for, and the room comes back as the bytes are written to the socket, so one slow connection never holds up the others.",
            "Start the --connect side first or second, as you like; the --listen side waits (--wait) for it to answer. If the --listen side exits, the --connect side resets its connections and waits for the next session. If either VM stops, the other side resets everything; the --listen side then exits with status 3.",
            "Addresses: tcp:HOST:PORT or HOST:PORT; a bare PORT or :PORT listens on 127.0.0.1 (0.0.0.0:PORT to accept from the network); unix:PATH or an absolute /PATH for a UNIX socket.",
        ],
        ExitStatus =
        [
            new("0", "Stopped (SIGINT/SIGTERM, or --once)."),
            new("1", "Failure: no device, no such peer, no answer within --wait, the address cannot be used."),
            new("2", "Usage error."),
            new("3", "The peer left, or this side's device is being unplugged (the reason is on standard error; the device is released)."),
        ],
        Examples =
        [
            new("ivshmem-agent forward --connect 127.0.0.1:5432 --from web", "On VM db: take connections from VM web to the local PostgreSQL."),
            new("ivshmem-agent forward --listen 5432 --to db", "On VM web: programs connect to 127.0.0.1:5432 and reach db's PostgreSQL through shared memory."),
        ],
        SeeAlso = ["ivshmem-agent send --help"],
    };
}
