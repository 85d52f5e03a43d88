using Ivshmem.Bench.Children;
using Ivshmem.Bench.Coordination;

using Ivshmem.Bench.Report;

// ivshmem-bench: started by the user (scripts/bench) it coordinates; started by itself with
// --child ROLE it is one side of a transport; with --net-charts it draws scripts/net-bench's charts,
// with --timeline-chart the throughput-per-second chart of scripts/migrate-e2e.
return args.Length > 0 && args[0] == "--child" ? ChildMain.Run(args[1..])
    : args.Length > 0 && args[0] == "--net-charts" ? NetCharts.Run(args[1..])
    : args.Length > 0 && args[0] == "--timeline-chart" ? TimelineChart.Run(args[1..])
    : Coordinator.Run(args);
