using Ivshmem.Bench.Children;
using Ivshmem.Bench.Coordination;

// ivshmem-bench: started by the user (scripts/bench) it coordinates; started by itself with
// --child ROLE it is one side of a transport.
return args.Length > 0 && args[0] == "--child" ? ChildMain.Run(args[1..]) : Coordinator.Run(args);
