using System.CommandLine;
using Ivshmem.Agent.Links;
using Ivshmem.Agent.Transfer;
using Ivshmem.Peer;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary><c>ivshmem-agent send FILE|- --to PEER</c>.</summary>
internal static class SendCommand
{
    public static (Command, ManPage) Create()
    {
        var file = new Argument<string>("FILE") { Description = "The file to send, or - for standard input." };
        var to = CommonOptions.To("to send to");
        to.Required = true;
        var wait = CommonOptions.Wait("for the peer to join the region and for its receiver to answer at the end", 30);
        var timeout = CommonOptions.Timeout();
        var waitMode = CommonOptions.WaitModeOption(WaitMode.SpinThenBlock);
        var command = new Command("send", Page.Summary) { file, to, wait, timeout, waitMode };
        command.SetAction((parse, ct) =>
        {
            var context = new AgentContext(parse);
            string path = parse.GetRequiredValue(file);
            using Stream input = path == "-" ? Console.OpenStandardInput() : OpenFile(path);
            long? size = input.CanSeek ? input.Length : null;
            string name = path == "-" ? "" : Path.GetFileName(path);

            using IvshmemEndpoint endpoint = context.OpenEndpoint();
            TimeSpan waitFor = CommonOptions.Seconds(parse.GetValue(wait));
            PeerEntry peer = context.ResolvePeer(endpoint, parse.GetRequiredValue(to), waitFor, ct);
            using RingLink link = AgentContext.OpenLink(endpoint, peer, parse.GetValue(waitMode), CommonOptions.Seconds(parse.GetValue(timeout)));
            var progress = Progress.ForStandardError(context.Quiet, size);
            context.Note($"sending {(size is long s ? Units.Bytes(s) : "standard input")} to {link.PeerLabel}");
            TransferResult result = Sender.Run(link, input, size, name, progress, waitFor, ct);
            context.Report($"sent {result.Describe()} to {link.PeerLabel}; the receiver verified the checksum{result.WakeupNote}");
            return Task.FromResult(ExitCodes.Ok);
        });
        return (command, Page);
    }

    private static FileStream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read {path}: {e.Message}", e);
        }
    }

    private static readonly ManPage Page = new()
    {
        Summary = "send a file or standard input to a peer through shared memory",
        Synopsis = ["ivshmem-agent send FILE|- --to PEER [--wait SECONDS] [--timeout SECONDS] [--wait-mode block|spin|poll]"],
        Description =
        [
            "Sends FILE (or standard input, '-') to PEER over the region's ring from this side to the peer, where 'ivshmem-agent recv --from' this side takes it. The two may start in either order: what is sent waits in the ring (which holds a few MiB) until the receiver reads it.",
            "The data is checked end to end: this side computes the XXH128 of everything it sends and sends it last; the receiver computes its own over what it received, compares, and answers. send exits 0 only when the receiver confirmed the same length and checksum, and prints both (standard error): bytes, time, rate, checksum and, in a VM with VFIO, how many doorbell interrupts woke this side.",
            "On a terminal a progress line shows bytes, rate and time left; in scripts (standard error not a terminal) only the summary is printed.",
            "If the peer leaves during the transfer (its VM stops, or its program exits and another takes its slot) send stops at once with exit status 3 and says so; the daemon rings every peer's control vector when one leaves, so this takes milliseconds, not a timeout.",
        ],
        ExitStatus =
        [
            new("0", "Sent, and the receiver verified the checksum."),
            new("1", "Failure: no device, no such peer (after --wait), the input cannot be read, a timeout, or the receiver failed to write its output."),
            new("2", "Usage error."),
            new("3", "The peer left during the transfer, or this side's device is being unplugged."),
            new("4", "The receiver got other data than was sent (checksum mismatch)."),
        ],
        Examples =
        [
            new("ivshmem-agent send backup.tar --to vm-b", "Send a file to the VM named vm-b (run 'ivshmem-agent recv --from vm-a -o backup.tar' there)."),
            new("tar c /srv | ivshmem-agent send - --to db --wait 60", "Stream a pipe; wait up to a minute for VM db to appear."),
        ],
        SeeAlso = ["ivshmem-agent recv --help", "ivshmem-agent list --help"],
    };
}
