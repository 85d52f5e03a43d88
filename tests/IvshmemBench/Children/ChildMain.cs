namespace Ivshmem.Bench.Children;

/// <summary>One role of a child process: handles the coordinator's command lines, one reply each.</summary>
internal interface IChildRole : IDisposable
{
    void Handle(string[] command, TextWriter reply);
}

/// <summary>
/// Entry of a child (<c>ivshmem-bench --child ROLE key=value...</c>): sets up its side of a transport,
/// then answers commands from stdin until "quit" or end of input. A failure is reported as one
/// "error ..." line on stdout (the coordinator shows it with stderr) and exit code 1.
/// </summary>
internal static class ChildMain
{
    public static int Run(IReadOnlyList<string> args)
    {
        TextWriter reply = Console.Out;
        try
        {
            ChildArgs a = ChildArgs.Parse(args);
            using IChildRole role = a.Role switch
            {
                "xfer" => TransferRole.Create(a),
                "memcpy" => new MemcpyRole(a),
                "pipeline" => new CopyPipelineRole(a),
                "ping" or "pong" when a.String("transport") == DoorbellRole.TransportName => new DoorbellRole(a),
                "ping" or "pong" => LatencyRole.Create(a),
                "rate-send" or "rate-recv" => new RateRole(a),
                _ => throw new ArgumentException($"unknown child role '{a.Role}'"),
            };
            string? line;
            while ((line = Console.In.ReadLine()) is not null)
            {
                string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0) continue;
                if (words[0] == "quit") break;
                role.Handle(words, reply);
                reply.Flush();
            }
            return 0;
        }
        catch (Exception e)
        {
            reply.WriteLine($"error {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            reply.Flush();
            Console.Error.WriteLine(e);
            return 1;
        }
    }
}
