using Ivshmem.Agent.Cli;

// Linux only: sysfs, VFIO, TUN devices, rtnetlink.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Everything happens in AgentApp, so tests run exactly what this runs.
return await AgentApp.RunAsync(args, Console.Out, Console.Error);
