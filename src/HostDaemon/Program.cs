using Ivshmem.Daemon.Cli;

// Everything happens in CommandLineApp, so tests run exactly what this runs.
return await CommandLineApp.RunAsync(args, Console.Out, Console.Error);
