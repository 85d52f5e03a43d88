using System.CommandLine;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Protocol;
using Ivshmem.Agent.Transfer;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary><c>ivshmem-agent recv --from PEER [-o FILE]</c>.</summary>
internal static class RecvCommand
{
    public static (Command, ManPage) Create()
    {
        var from = CommonOptions.From("to receive from");
        from.Required = true;
        var output = new Option<string>("--output", "-o") { Description = "Where to write what arrives. Default: standard output. A regular file is written under FILE.partial and renamed to FILE only once the checksum is verified.", HelpName = "FILE" };
        var wait = CommonOptions.Wait("for the peer to join the region and to start sending", 0);
        var timeout = CommonOptions.Timeout();
        var waitMode = CommonOptions.WaitModeOption(WaitMode.SpinThenBlock);
        var command = new Command("recv", Page.Summary) { from, output, wait, timeout, waitMode };
        command.SetAction((parse, ct) =>
        {
            var context = new AgentContext(parse);
            using IvshmemEndpoint endpoint = context.OpenEndpoint();
            TimeSpan waitFor = CommonOptions.Seconds(parse.GetValue(wait));
            PeerEntry peer = context.ResolvePeer(endpoint, parse.GetRequiredValue(from), waitFor, ct);
            using RingLink link = AgentContext.OpenLink(endpoint, peer, parse.GetValue(waitMode), CommonOptions.Seconds(parse.GetValue(timeout)));
            var target = new OutputTarget(parse.GetValue(output));
            var progress = Progress.ForStandardError(context.Quiet, null);
            context.Note($"receiving from {link.PeerLabel}");
            try
            {
                TransferResult result = Receiver.Run(link, hello =>
                {
                    context.Note($"{link.PeerLabel} sends {(hello.Size >= 0 ? Units.Bytes(hello.Size) : "a stream")}{(hello.Name.Length > 0 ? $" ('{hello.Name}')" : "")}");
                    return target.Open();
                }, target.Commit, progress, waitFor, ct);
                context.Report($"received {result.Describe()} from {link.PeerLabel}; checksum verified{result.WakeupNote}");
                return Task.FromResult(ExitCodes.Ok);
            }
            finally
            {
                target.Cleanup();
            }
        });
        return (command, Page);
    }

    /// <summary>Standard output, a device or pipe (written directly), or a regular file (written under
    /// FILE.partial and renamed once verified, so a failed transfer never looks like a finished one).</summary>
    private sealed class OutputTarget(string? path)
    {
        private string? _partial;

        public Stream Open()
        {
            if (path is null or "-") return Console.OpenStandardOutput();
            bool special = File.Exists(path) && (File.GetAttributes(path) & FileAttributes.Device) != 0 || path.StartsWith("/dev/", StringComparison.Ordinal);
            if (special) return new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            _partial = path + ".partial";
            return new FileStream(_partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        }

        public void Commit()
        {
            if (_partial is null) return;
            File.Move(_partial, path!, overwrite: true);
            _partial = null;
        }

        public void Cleanup()
        {
            if (_partial is not null && File.Exists(_partial)) File.Delete(_partial);
        }
    }

    private static readonly ManPage Page = new()
    {
        Summary = "receive what a peer sends through shared memory",
        Synopsis = ["ivshmem-agent recv --from PEER [-o FILE] [--wait SECONDS] [--timeout SECONDS] [--wait-mode block|spin|poll]"],
        Description =
        [
            "Receives one transfer that PEER sends with 'ivshmem-agent send --to' this side, writes it to FILE (or standard output), and checks it: the sender's XXH128 of the whole transfer must equal the one computed here over what arrived, and so must the length. The verdict goes back to the sender, so both sides report it.",
            "It waits for the sender as long as --wait says (default: forever), skipping anything an earlier, unfinished run left in the ring. Once the transfer runs, --timeout bounds a stall; a sender that leaves (its VM stops) ends it at once with exit status 3.",
            "The summary (bytes, time, rate, checksum, doorbell interrupts) goes to standard error; so does the progress line, on a terminal only.",
        ],
        ExitStatus =
        [
            new("0", "Received and verified."),
            new("1", "Failure: no device, no such peer, the output cannot be written, the sender gave up (its reason is printed), or a timeout."),
            new("2", "Usage error."),
            new("3", "The peer left during the transfer, or this side's device is being unplugged."),
            new("4", "Checksum or length mismatch: FILE is not renamed into place (FILE.partial is removed)."),
        ],
        Examples =
        [
            new("ivshmem-agent recv --from vm-a -o backup.tar", "Receive into backup.tar."),
            new("ivshmem-agent recv --from vm-a | tar x", "Unpack a stream as it arrives (the checksum is verified at the end; tar has seen the data by then)."),
        ],
        SeeAlso = ["ivshmem-agent send --help"],
    };
}
