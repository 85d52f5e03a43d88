namespace Ivshmem.Peer.Tests;

/// <summary>Work a test runs on its own threads, tracked so that the test can stop it and wait for
/// it before unmapping the memory it uses (a thread still reading an unmapped ring would crash the
/// whole test host).</summary>
public static class Background
{
    public static Task Start(List<Task> tracked, Action work)
    {
        Task task = Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        lock (tracked) tracked.Add(task);
        return task;
    }

    public static Task<T> Start<T>(List<Task> tracked, Func<T> work)
    {
        Task<T> task = Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        lock (tracked) tracked.Add(task);
        return task;
    }

    /// <summary>Waits (bounded) for every tracked task; their outcome was the tests' business.</summary>
    public static void Drain(List<Task> tracked)
    {
        Task[] tasks;
        lock (tracked) tasks = [.. tracked];
        try { Task.WaitAll(tasks, TimeSpan.FromSeconds(30)); }
        catch (AggregateException) { /* failures and cancellations were seen (or not needed) by the tests */ }
    }
}
