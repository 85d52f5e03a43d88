using Ivshmem.HostPeerTool;

// ivshmem-host-peer COMMAND SOCKET [--option value]...; results on stdout as key=value lines,
// errors as "error: ..." on stderr with exit status 1.
try
{
    var a = ToolArgs.Parse(args);
    return a.Command switch
    {
        "join" => JoinCommand.Run(a),
        "bench" => Bench.Run(a),
        _ => throw new ArgumentException($"unknown command '{a.Command}'; commands: join, bench"),
    };
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    Console.Error.WriteLine($"ivshmem-host-peer: error: {e.Message}");
    return 1;
}
