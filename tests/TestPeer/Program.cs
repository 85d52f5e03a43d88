using Ivshmem.TestPeer;

// The other process of cross-process tests. Usage: TestPeer ROLE key=value...
// Prints one result line per direction on stdout; errors as "error TYPE: message" with exit 1.
try
{
    var args2 = PeerArgs.Parse(args);
    return args2.Role switch
    {
        "send" => Roles.Send(args2),
        "recv" => Roles.Receive(args2),
        "duplex" => Roles.Duplex(args2),
        "scribble" => Scribbler.Run(args2),
        "throughput" => Throughput.Run(args2),
        "sink" => Throughput.Sink(args2),
        "attacks" => AttackCases.Run(args2),
        _ => throw new ArgumentException($"unknown role '{args2.Role}'"),
    };
}
catch (Exception e)
{
    Console.WriteLine($"error {e.GetType().Name}: {e.Message}");
    return 1;
}
