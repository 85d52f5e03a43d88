using Ivshmem.Ring;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// Samples the positions of every ring of every region on the event loop thread, every
/// <see cref="Interval"/>, and keeps the previous sample, so that status and metrics can show bytes,
/// rate, fill and idle time. It only loads: four 64-bit loads per ring (head, tail, head again, padding released),
/// nothing is written to the region, and the peers' data path never sees it. Every value loaded is
/// untrusted (any guest may write it): <see cref="Check"/> judges it and an impossible ring is shown
/// as invalid, never thrown on.
/// </summary>
internal sealed class RingSampler
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, RegionHistory> _history = new(StringComparer.Ordinal);
    private RingSnapshot _latest = RingSnapshot.Empty;

    public RingSampler(TimeSpan interval) => Interval = interval;

    public TimeSpan Interval { get; }

    /// <summary>The last sample; any thread.</summary>
    public RingSnapshot Latest => Volatile.Read(ref _latest);

    /// <summary>Samples every ring of <paramref name="regions"/> now and publishes the result. Loop
    /// thread only (the regions' memory is unmapped on that thread, never under this).</summary>
    public void Sample(IEnumerable<ServedRegion> regions)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        long tick = Environment.TickCount64;
        var result = new Dictionary<string, IReadOnlyList<RingStatus>>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (ServedRegion region in regions)
        {
            Region memory = region.Memory.Region;
            if (!_history.TryGetValue(region.Name, out RegionHistory? history) || history.FormatId != memory.FormatId)
                _history[region.Name] = history = new RegionHistory(memory.FormatId, memory.Geometry.RingCount);
            seen.Add(region.Name);
            result[region.Name] = SampleRegion(region, history, now, tick);
        }
        foreach (string gone in _history.Keys.Where(n => !seen.Contains(n)).ToList()) _history.Remove(gone);
        Volatile.Write(ref _latest, new RingSnapshot(now, result));
    }

    private static List<RingStatus> SampleRegion(ServedRegion region, RegionHistory history, DateTimeOffset now, long tick)
    {
        Region memory = region.Memory.Region;
        RegionGeometry g = memory.Geometry;
        var names = new string?[g.Slots];
        for (int s = 0; s < g.Slots; s++) names[s] = region.PeerNameInSlot(s);
        var rings = new List<RingStatus>();
        for (int from = 0; from < g.Slots; from++)
        {
            for (int to = 0; to < g.Slots; to++)
            {
                if (from == to) continue;
                int number = g.RingNumber(from, to);
                long ring = g.RingIndex(from, to);
                // Head, tail, head: an honest ring then has head1 <= tail <= head2 + capacity however
                // fast it moves (both positions only grow), so a busy ring is never reported invalid.
                ulong head1 = (ulong)memory.Memory.ReadInt64Acquire(ring + RingLayout.HeadOffset);
                ulong tail = (ulong)memory.Memory.ReadInt64Acquire(ring + RingLayout.TailOffset);
                ulong head2 = (ulong)memory.Memory.ReadInt64Acquire(ring + RingLayout.HeadOffset);
                // Loaded after head2, so it may already count a padding record whose head is not yet
                // released: the byte count can lag by one padding, never jump ahead.
                ulong padding = (ulong)memory.Memory.ReadInt64Acquire(ring + RingLayout.PaddingReleasedOffset);
                bool present = names[from] is not null && names[to] is not null;
                if (!present && head1 == 0 && tail == 0 && head2 == 0 && !history.Seen[number]) continue;
                rings.Add(history.Update(number, from, to, names, head1, tail, head2, padding, g.RingCapacity, now, tick));
            }
        }
        return rings;
    }

    /// <summary>Why positions read as <paramref name="head1"/>, <paramref name="tail"/>,
    /// <paramref name="head2"/> (in that order) cannot be those of a ring of
    /// <paramref name="capacity"/> bytes; null when they can.</summary>
    internal static string? Check(ulong head1, ulong tail, ulong head2, long capacity)
    {
        if (tail < head1) return "invalid: tail < head";
        if (head2 < head1) return "invalid: head went back";
        if (tail > head2 && tail - head2 > (ulong)capacity) return "invalid: tail - head > capacity";
        if (head2 % RingLayout.RecordAlignment != 0) return $"invalid: head not {RingLayout.RecordAlignment}-byte aligned";
        if (tail % RingLayout.RecordAlignment != 0) return $"invalid: tail not {RingLayout.RecordAlignment}-byte aligned";
        if (tail > long.MaxValue) return "invalid: tail beyond 2^63";
        return null;
    }

    /// <summary>Why <paramref name="padding"/> (the consumer's count of padding bytes released) cannot
    /// belong to a head of <paramref name="head"/>; null when it can. It is one padding record ahead of
    /// the head at most (loaded after it).</summary>
    internal static string? CheckPadding(ulong padding, ulong head, long capacity)
    {
        if (padding % RingLayout.RecordAlignment != 0) return $"invalid: padding count not {RingLayout.RecordAlignment}-byte aligned";
        if (padding > head + (ulong)capacity) return "invalid: padding count beyond the head";
        return null;
    }

    /// <summary>The previous sample of each ring of one region (one formatting of its memory).</summary>
    private sealed class RegionHistory(ulong formatId, int ringCount)
    {
        public ulong FormatId { get; } = formatId;
        public bool[] Seen { get; } = new bool[ringCount];
        private readonly bool[] _valid = new bool[ringCount];
        private readonly ulong[] _head = new ulong[ringCount];
        private readonly ulong[] _tail = new ulong[ringCount];
        private readonly ulong[] _bytes = new ulong[ringCount];
        private readonly long[] _tick = new long[ringCount];
        private readonly DateTimeOffset?[] _lastMovement = new DateTimeOffset?[ringCount];
        private readonly DateTimeOffset[] _since = new DateTimeOffset[ringCount];

        public RingStatus Update(int r, int from, int to, string?[] names, ulong head1, ulong tail, ulong head2, ulong padding, long capacity, DateTimeOffset now, long tick)
        {
            string? problem = Check(head1, tail, head2, capacity) ?? CheckPadding(padding, head2, capacity);
            // Payload and record headers through the ring: the head less the padding it includes.
            ulong bytes = head2 > padding ? head2 - padding : 0;
            bool hadPrevious = Seen[r] && _valid[r];
            // Both positions back at 0: the ring was reset (by the daemon when both its ends had left, or
            // by a producer that found its control block broken; docs/ring.md, "Recovery"), not broken.
            bool reset = head2 == 0 && tail == 0;
            if (problem is null && hadPrevious && !reset)
            {
                if (head2 < _head[r]) problem = "invalid: head went back";
                else if (tail < _tail[r]) problem = "invalid: tail went back";
            }
            double? rate = null;
            if (!Seen[r]) _since[r] = now;
            else if (head2 != _head[r] || tail != _tail[r]) _lastMovement[r] = now;
            if (problem is null && hadPrevious && !reset && tick > _tick[r])
                rate = (bytes > _bytes[r] ? bytes - _bytes[r] : 0) / ((tick - _tick[r]) / 1000.0);
            Seen[r] = true;
            _valid[r] = problem is null;
            _head[r] = head2;
            _bytes[r] = bytes;
            _tail[r] = tail;
            _tick[r] = tick;
            return new RingStatus(from, to, names[from] ?? $"slot {from}", names[to] ?? $"slot {to}", capacity, problem,
                head2, tail, bytes, rate, _lastMovement[r], _since[r]);
        }
    }
}
