namespace Ivshmem.Bench.Coordination;

/// <summary>
/// Which CPUs the two processes of a pair run on. With two or more CPUs and taskset (util-linux) the
/// sending side runs on the first CPU and the receiving side on the second, so a spinning process
/// never shares a core with the peer it waits for, and every run puts them in the same place.
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

    public string Describe() => SenderCpu is null
        ? "not pinned (the scheduler places both processes)"
        : $"sender/client pinned to CPU {SenderCpu}, receiver/server to CPU {ReceiverCpu} (taskset)";
}
