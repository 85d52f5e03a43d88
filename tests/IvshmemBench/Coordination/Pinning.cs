namespace Ivshmem.Bench.Coordination;

/// <summary>
/// Which CPUs the two processes of a pair run on. With two or more CPUs and taskset (util-linux) the
/// sending side runs on the first CPU and the receiving side on the second, so a spinning process
/// never shares a core with the peer it waits for, and every run puts them in the same place. The
/// coordinator itself (this process, every thread) joins the sending side: it works only while the
/// sender waits for its command, and on the receiver's CPU it would compete with a receiver that
/// spins for the very transfer the coordinator is trying to start.
/// </summary>
internal sealed record Pinning(int? SenderCpu, int? ReceiverCpu)
{
    public static readonly Pinning None = new(null, null);

    public static string? TasksetPath { get; } =
        new[] { "/usr/bin/taskset", "/bin/taskset" }.FirstOrDefault(File.Exists);

    /// <summary>"auto" (CPUs 0 and 1 when there are two and taskset exists), "none", or "A,B".</summary>
    public static Pinning Parse(string text)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "none":
                return None;
            case "auto":
                return Environment.ProcessorCount >= 2 && TasksetPath is not null ? new Pinning(0, 1) : None;
        }
        string[] parts = text.Split(',');
        if (parts.Length == 2 && int.TryParse(parts[0], out int a) && int.TryParse(parts[1], out int b) && a >= 0 && b >= 0)
        {
            if (TasksetPath is null) throw new ArgumentException("--pin A,B needs taskset (util-linux), which is not installed");
            return new Pinning(a, b);
        }
        throw new ArgumentException($"--pin '{text}': use auto, none, or two CPU numbers A,B");
    }

    public string Describe() => (SenderCpu is null
        ? "not pinned (the scheduler places both processes)"
        : $"sender/client pinned to CPU {SenderCpu}, receiver/server to CPU {ReceiverCpu}, the coordinator to CPU {SenderCpu} (taskset)")
        + $"; tiered compilation off in the coordinator, {CoordinatorJit.ChildrenDescription} in the children";

    /// <summary>Moves every thread of this process to the sender's CPU (threads started later inherit it).</summary>
    public void PinCoordinator()
    {
        if (SenderCpu is not int cpu || TasksetPath is not string taskset) return;
        var start = new System.Diagnostics.ProcessStartInfo(taskset) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "-a", "-p", "-c", cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"could not start {taskset}");
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"taskset -a -p -c {cpu} {Environment.ProcessId} failed with exit code {process.ExitCode}");
    }
}
