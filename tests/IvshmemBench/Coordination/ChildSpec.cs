namespace Ivshmem.Bench.Coordination;

/// <summary>Arguments for a child: plain values, and fds it inherits (passed as the dup'ed numbers).</summary>
internal sealed record ChildEndpointArgs(IReadOnlyDictionary<string, string> Values, IReadOnlyDictionary<string, int> Fds)
{
    public static readonly ChildEndpointArgs None = new(new Dictionary<string, string>(), new Dictionary<string, int>());
}

/// <summary>What to start: a role, its arguments, and the CPU to pin it to (null: not pinned).</summary>
internal sealed record ChildSpec(string Label, string Role, ChildEndpointArgs Endpoint, IReadOnlyDictionary<string, string> Values, int? Cpu);
