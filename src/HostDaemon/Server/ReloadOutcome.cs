namespace Ivshmem.Daemon.Server;

/// <summary>What a reload changed, region by region, and what it could not do.</summary>
public sealed record ReloadOutcome(
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<string> Retiring,
    IReadOnlyList<string> Replaced,
    IReadOnlyList<string> Deferred,
    IReadOnlyList<string> Failed)
{
    public bool Succeeded => Failed.Count == 0;
}
