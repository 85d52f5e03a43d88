using System.CommandLine;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Measure;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary>
/// <c>ivshmem-agent ping</c> and <c>bench</c>: the same four modes each (ring client, ring server,
/// TCP client, TCP server), and one server that answers both.
/// </summary>
internal static class MeasureCommands
{
    private sealed class ModeOptions
    {
        public readonly Option<string> To = CommonOptions.To("to measure against (it runs 'ping --serve' or 'bench --serve')");
        public readonly Option<bool> Serve = new("--serve") { Description = "Be the server: answer ping and bench runs from the peer named by --from (ring), or from TCP clients on --tcp-listen, until stopped (or one run, with --once)." };
        public readonly Option<string> From = CommonOptions.From("whose runs to answer (with --serve)");
        public readonly Option<string> Tcp = new("--tcp") { Description = "Measure over TCP instead: connect to a server started with --serve --tcp-listen at HOST:PORT (for comparing the ring with the network).", HelpName = "HOST:PORT" };
        public readonly Option<string> TcpListen = new("--tcp-listen") { Description = "With --serve: answer over TCP on [ADDR:]PORT (default address 127.0.0.1; 0.0.0.0:PORT for all).", HelpName = "[ADDR:]PORT" };
        public readonly Option<bool> Once = new("--once") { Description = "With --serve: answer one run, then exit." };
        public readonly Option<double> Wait = CommonOptions.Wait("for the peer to join the region and to answer (a server waits for clients forever)", 30);
        public readonly Option<double> Timeout = CommonOptions.Timeout();
        public readonly Option<string> Json = new("--json") { Description = "Also write the results as JSON to FILE, in the shape of the host benchmark's (scripts/bench --json): machine, throughput, latency, message_rate. '-' writes the JSON to standard output and moves the text summary to standard error (--quiet drops it).", HelpName = "FILE" };

        public void AddTo(Command command)
        {
            foreach (Option o in new Option[] { To, Serve, From, Tcp, TcpListen, Once, Wait, Timeout, Json }) command.Add(o);
            command.Validators.Add(r =>
            {
                bool serve = r.GetValue(Serve);
                int modes = (r.GetResult(To) is not null ? 1 : 0) + (r.GetResult(Tcp) is not null ? 1 : 0) + (serve ? 1 : 0);
                if (modes != 1) r.AddError("give exactly one of --to PEER, --tcp HOST:PORT or --serve");
                if (serve && (r.GetResult(From) is null) == (r.GetResult(TcpListen) is null)) r.AddError("--serve needs either --from PEER (ring) or --tcp-listen PORT (TCP)");
                if (!serve && (r.GetResult(From) is not null || r.GetResult(TcpListen) is not null || r.GetValue(Once))) r.AddError("--from, --tcp-listen and --once go with --serve");
                if (r.GetValue(Json) is { } json)
                {
                    if (serve) r.AddError("--json goes with a client (--to or --tcp): the client reports");
                    // Checked before measuring: a run in a VM may take minutes.
                    else if (json != "-" && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(json)))) r.AddError($"--json {json}: no such directory");
                }
            });
        }
    }

    public static (Command, ManPage) CreatePing()
    {
        var modes = new ModeOptions();
        var count = new Option<int>("--count", "-c") { Description = "Round trips to time.", HelpName = "N", DefaultValueFactory = _ => 100 };
        var size = CommonOptions.SizeOption("--size", "Bytes per ping (at least 8).", 64, "BYTES");
        var interval = new Option<double>("--interval", "-i") { Description = "Pause between pings, in seconds.", HelpName = "SECONDS", DefaultValueFactory = _ => 0 };
        var waitMode = CommonOptions.WaitModeOption(WaitMode.Block);
        var command = new Command("ping", PingPage.Summary) { count, size, interval, waitMode };
        modes.AddTo(command);
        command.SetAction((parse, ct) => Run(parse, modes, parse.GetValue(waitMode), ct, (context, link, endpoint) =>
        {
            PingResult result = Ping.Run(link, Math.Max(1, parse.GetValue(count)), (int)Math.Min(parse.GetValue(size), int.MaxValue),
                TimeSpan.FromSeconds(parse.GetValue(interval)), CommonOptions.Seconds(parse.GetValue(modes.Wait)), null, ct);
            Report(context, parse.GetValue(modes.Json), result.Summary(link.Transport, link.PeerLabel), () =>
                MeasureJson.Ping(AgentMachine.Collect(endpoint), result, link.Transport, MeasureJson.ModeName(link.Transport, parse.GetValue(waitMode)), link.PeerLabel));
        }));
        return (command, PingPage);
    }

    public static (Command, ManPage) CreateBench()
    {
        var modes = new ModeOptions();
        var bytes = CommonOptions.SizeOption("--bytes", "How much to move each way.", 64L << 20);
        var chunk = CommonOptions.SizeOption("--chunk", "Bytes per message (a ring's limit is an eighth of its capacity; 'info' shows it).", Bench.DefaultChunk);
        var rounds = new Option<int>("--rounds", "-r") { Description = "Rounds of upload and download; the best and the median are reported.", HelpName = "N", DefaultValueFactory = _ => 3 };
        var waitMode = CommonOptions.WaitModeOption(WaitMode.SpinThenBlock);
        var command = new Command("bench", BenchPage.Summary) { bytes, chunk, rounds, waitMode };
        modes.AddTo(command);
        command.SetAction((parse, ct) => Run(parse, modes, parse.GetValue(waitMode), ct, (context, link, endpoint) =>
        {
            BenchResult result = Bench.Run(link, parse.GetValue(bytes), (int)Math.Min(parse.GetValue(chunk), int.MaxValue), CommonOptions.Seconds(parse.GetValue(modes.Wait)), ct, parse.GetValue(rounds));
            Report(context, parse.GetValue(modes.Json), result.Summary(link.Transport, link.PeerLabel), () =>
                MeasureJson.Bench(AgentMachine.Collect(endpoint), result, link.Transport, MeasureJson.ModeName(link.Transport, parse.GetValue(waitMode)), link.PeerLabel));
        }));
        return (command, BenchPage);
    }

    /// <summary>
    /// The client's summary line on standard output, and with --json the JSON document too: in FILE,
    /// or with '-' on standard output instead of the summary, which then goes to standard error as a
    /// note, so that a script can parse standard output as it is.
    /// </summary>
    private static void Report(AgentContext context, string? json, string summary, Func<string> document)
    {
        if (json == "-")
        {
            context.Note(summary);
            context.Output.WriteLine(document());
            return;
        }
        if (json is not null) File.WriteAllText(json, document() + "\n");
        context.Output.WriteLine(summary);
    }

    private static Task<int> Run(ParseResult parse, ModeOptions modes, WaitMode waitMode, CancellationToken ct, Action<AgentContext, IMessageLink, IvshmemEndpoint?> client)
    {
        var context = new AgentContext(parse);
        TimeSpan timeout = CommonOptions.Seconds(parse.GetValue(modes.Timeout));
        TimeSpan wait = CommonOptions.Seconds(parse.GetValue(modes.Wait));
        if (parse.GetValue(modes.Tcp) is { } hostPort)
        {
            using TcpLink tcp = TcpLink.Connect(hostPort, wait == System.Threading.Timeout.InfiniteTimeSpan ? TimeSpan.FromDays(1) : wait, ct);
            tcp.StallTimeout = timeout;
            client(context, tcp, null);
            return Task.FromResult(ExitCodes.Ok);
        }
        if (parse.GetValue(modes.Serve) && parse.GetValue(modes.TcpListen) is { } listen)
        {
            try { MeasureServer.ServeTcp(Addresses.ParseListen(listen.Contains(':') || listen.StartsWith('/') ? listen : ":" + listen), parse.GetValue(modes.Once), context.Note, ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { context.Note("stopped"); }
            return Task.FromResult(ExitCodes.Ok);
        }
        using IvshmemEndpoint endpoint = context.OpenEndpoint();
        string peerName = parse.GetValue(modes.To) ?? parse.GetRequiredValue(modes.From);
        PeerEntry peer = context.ResolvePeer(endpoint, peerName, wait, ct);
        using RingLink link = AgentContext.OpenLink(endpoint, peer, waitMode, timeout);
        if (parse.GetValue(modes.Serve))
        {
            context.Note($"answering ping and bench runs from {link.PeerLabel}");
            // SIGINT/SIGTERM is how a server is stopped: not an error.
            try { MeasureServer.ServeRing(link, parse.GetValue(modes.Once), System.Threading.Timeout.InfiniteTimeSpan, context.Note, ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { context.Note("stopped"); }
        }
        else
        {
            client(context, link, endpoint);
        }
        return Task.FromResult(ExitCodes.Ok);
    }

    private static readonly ManPage PingPage = new()
    {
        Summary = "time round trips to a peer (the doorbell round trip)",
        Synopsis =
        [
            "ivshmem-agent ping --to PEER [--count N] [--size BYTES] [--interval SECONDS] [--wait-mode block|spin|poll] [--json FILE]",
            "ivshmem-agent ping --serve --from PEER [--once]",
            "ivshmem-agent ping --tcp HOST:PORT [--count N] [--size BYTES] [--json FILE]",
            "ivshmem-agent ping --serve --tcp-listen [ADDR:]PORT [--once]",
        ],
        Description =
        [
            "Sends N small messages to PEER one at a time; the peer ('ping --serve' or 'bench --serve' there) echoes each, and this side times each round trip. Prints min, median (p50), 99th percentile (p99) and max in microseconds, and how many doorbell interrupts woke this side.",
            "The default wait mode for ping is block: neither side spins, every message rings the other side's doorbell (a write to BAR0 in a VM, an eventfd write on a host) and wakes it through MSI-X. So the figure is the doorbell round trip. With --wait-mode spin the sides spin briefly first, which is faster when both run on their own CPUs.",
            "--tcp and --tcp-listen run the same exchange over a TCP connection, e.g. over virtio-net between two VMs, for comparison.",
            "--json FILE also writes the result in the host benchmark's JSON shape (scripts/bench --json): one 'latency' entry with transport (ring or tcp), mode (block, spin-then-block or busy-poll; blocking for TCP), p50_us, p99_us and p999_us, beside 'machine' (cpu, cores, kernel, virtual_machine, runtime, access, mapping). With '-' the JSON is standard output and the summary line goes to standard error.",
        ],
        ExitStatus =
        [
            new("0", "Done (a server: stopped after --once, or by SIGINT/SIGTERM)."),
            new("1", "Failure: no device, no such peer, no answer within --wait, a timeout, or a protocol error."),
            new("2", "Usage error."),
            new("3", "The peer left, or this side's device is being unplugged (the reason is on standard error; the device is released)."),
        ],
        Examples =
        [
            new("ivshmem-agent ping --serve --from vm-a", "On vm-b: answer vm-a's pings (and benches)."),
            new("ivshmem-agent ping --to vm-b --count 1000", "On vm-a: 1000 doorbell round trips to vm-b."),
            new("ivshmem-agent ping --tcp 10.0.0.2:5201", "The same over TCP, against 'ping --serve --tcp-listen 0.0.0.0:5201' on 10.0.0.2."),
            new("ivshmem-agent ping --to vm-b --json - | jq '.latency[0].p99_us'", "The 99th percentile, from the JSON on standard output."),
        ],
        SeeAlso = ["ivshmem-agent bench --help"],
    };

    private static readonly ManPage BenchPage = new()
    {
        Summary = "measure throughput to and from a peer",
        Synopsis =
        [
            "ivshmem-agent bench --to PEER [--bytes SIZE] [--chunk SIZE] [--rounds N] [--wait-mode block|spin|poll] [--json FILE]",
            "ivshmem-agent bench --serve --from PEER [--once]",
            "ivshmem-agent bench --tcp HOST:PORT [--bytes SIZE] [--chunk SIZE] [--rounds N] [--json FILE]",
            "ivshmem-agent bench --serve --tcp-listen [ADDR:]PORT [--once]",
        ],
        Description =
        [
            "Moves --bytes to the peer in messages of --chunk bytes, waits until the peer has them all, then asks the peer for the same amount and times its arrival; --rounds times. Both sides copy every payload from or into their own memory, as real senders and receivers do. Prints, for each direction, the best round's rate and the median in MB/s (10^6 bytes per second): the best is the one least disturbed by whatever else the machine was doing.",
            "The peer runs 'bench --serve' (or 'ping --serve': one server answers both). --tcp and --tcp-listen run the same over TCP, for comparing the ring with the network.",
            "--json FILE also writes the result in the host benchmark's JSON shape (scripts/bench --json): two 'throughput' entries, direction to-peer and from-peer, each with transport (ring or tcp), size_bytes (--bytes: bytes per round), chunk_bytes, repeats (--rounds) and mbps min/median/max in Mbit/s (10^6 bits per second, as the host benchmark; the text says MB/s), beside 'machine' (cpu, cores, kernel, virtual_machine, runtime, access, mapping). With '-' the JSON is standard output and the summary line goes to standard error.",
        ],
        ExitStatus =
        [
            new("0", "Done."),
            new("1", "Failure: no device, no such peer, no answer, a timeout, or a protocol error."),
            new("2", "Usage error."),
            new("3", "The peer left, or this side's device is being unplugged (the reason is on standard error; the device is released)."),
        ],
        Examples =
        [
            new("ivshmem-agent bench --serve --from vm-a", "On vm-b."),
            new("ivshmem-agent bench --to vm-b --bytes 256M", "On vm-a: 256 MiB each way."),
            new("ivshmem-agent bench --to vm-b --json bench-ring.json", "The summary as usual, and the figures as JSON in bench-ring.json."),
        ],
        SeeAlso = ["ivshmem-agent ping --help"],
    };
}
