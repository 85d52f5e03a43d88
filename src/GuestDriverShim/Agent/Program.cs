using Ivshmem.Agent.Cli;

// Everything happens in AgentApp, so tests run exactly what this runs.
return await AgentApp.RunAsync(args, Console.Out, Console.Error);
