using System.Diagnostics;
using System.Text.Json;
using Ivshmem.Ring;

namespace Ivshmem.TestPeer;

/// <summary>
/// The hostile run (docs/ring.md, "Recovery"): case after case, a fresh region where a writes a byte
/// stream to b while a third peer of the region, the attacker, rewrites shared memory at a random
/// moment: before b opens, after part of the stream, or after its end. Each case ends in one of:
/// intact (b read exactly what a sent), detected (one of the library's documented exceptions, a
/// timeout included), silently wrong (b reached a normal end with other bytes) or undocumented (any
/// other exception). Then the attacker leaves and a recovers: a new peer in b's slot and a new
/// session of a must talk. Control-only attacks (positions, sessions, flags, the peer table, the
/// header) must never be silently wrong; attacks on record headers are in the data area, where a
/// peer can always alter what is read (no MAC), and are counted apart.
/// </summary>
public static class AttackCases
{
    public enum Attack
    {
        ForgedSessionAtTail,
        RewoundSessionStart,
        ImpossibleTail,
        ImpossibleHead,
        RandomSessionStart,
        RandomProducerSession,
        WaitingFlags,
        PeerTableEntry,
        ImpersonateByName,
        RegionHeader,
        RecordHeaderLength,
        RecordHeaderType,
    }

    public enum Outcome { Intact, Detected, SilentlyWrong, Undocumented }

    private static readonly RingChannelOptions Options = new() { Timeout = TimeSpan.FromMilliseconds(20), PeerCheckInterval = TimeSpan.FromMilliseconds(5) };

    /// <summary>Counts of one run, by attack and outcome; <see cref="Recovered"/> counts cases whose
    /// recovery worked (it must be all of them).</summary>
    public sealed record Result(int Cases, int Seed, Dictionary<string, Dictionary<string, int>> ByAttack, int Recovered, double Seconds)
    {
        public int Count(Outcome outcome, bool controlOnly) => ByAttack
            .Where(kv => !controlOnly || IsControlOnly(Enum.Parse<Attack>(kv.Key)))
            .Sum(kv => kv.Value.GetValueOrDefault(outcome.ToString()));
    }

    public static bool IsControlOnly(Attack attack) => attack is not (Attack.RecordHeaderLength or Attack.RecordHeaderType);

    /// <summary>TestPeer role "attacks": cases=N seed=S [out=FILE]; prints a table, writes JSON.</summary>
    public static int Run(PeerArgs args)
    {
        Result result = RunCases(args.Int("cases", 100_000), args.Int("seed", 1));
        Console.WriteLine(Table(result));
        string json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        if (args.String("out", "") is { Length: > 0 } path) File.WriteAllText(path, json + "\n");
        bool ok = result.Count(Outcome.SilentlyWrong, controlOnly: true) == 0 && result.Count(Outcome.Undocumented, controlOnly: false) == 0
            && result.Recovered == result.Cases;
        return ok ? 0 : 1;
    }

    public static Result RunCases(int cases, int seed)
    {
        var random = new Random(seed);
        var counts = Enum.GetNames<Attack>().ToDictionary(n => n, _ => Enum.GetNames<Outcome>().ToDictionary(o => o, _ => 0));
        int recovered = 0;
        var clock = Stopwatch.StartNew();
        using var mapping = MappedMemory.Anonymous(256 * 1024);
        for (int i = 0; i < cases; i++)
        {
            var attack = (Attack)random.Next(Enum.GetValues<Attack>().Length);
            (Outcome outcome, bool recoveredNow) = RunCase(mapping.Memory, attack, random);
            counts[attack.ToString()][outcome.ToString()]++;
            if (recoveredNow) recovered++;
        }
        return new Result(cases, seed, counts, recovered, Math.Round(clock.Elapsed.TotalSeconds, 1));
    }

    private static (Outcome, bool) RunCase(SharedMemory memory, Attack attack, Random random)
    {
        memory.Clear(0, memory.Length);
        Region region = Region.Format(memory, 3);
        PeerTable peers = region.Peers;
        peers.Join(0, 10, PeerKind.HostProcess, "a", 1);
        peers.Join(1, 11, PeerKind.HostProcess, "b", 1);
        peers.Join(2, 12, PeerKind.HostProcess, "attacker", 1);
        byte[] sent = new byte[random.Next(1, 12_000)];
        random.NextBytes(sent);
        int when = random.Next(3); // 0: before b opens, 1: after part of the stream, 2: after its end
        int part = random.Next(sent.Length + 1);

        Outcome outcome;
        try
        {
            RingChannel a = RingChannel.Open(region, 0, LookUp(peers, "b"), null, PollingWaiter.Instance, Options);
            using RingStream writer = a.AsStream();
            writer.Write(sent.AsSpan(0, part));
            if (when == 0) Strike(attack, region, random);
            RingChannel b = RingChannel.Open(region, 1, LookUp(peers, "a"), null, PollingWaiter.Instance, Options);
            RingStream reader = b.AsStream();
            byte[] received = new byte[sent.Length + 16];
            int got = ReadSome(reader, received, 0, part);
            if (when == 1) Strike(attack, region, random);
            writer.Write(sent.AsSpan(part));
            writer.CompleteWriting();
            if (when == 2) Strike(attack, region, random);
            got = ReadToEnd(reader, received, got);
            outcome = received.AsSpan(0, got).SequenceEqual(sent) ? Outcome.Intact : Outcome.SilentlyWrong;
        }
        catch (Exception e) when (e is IvshmemException or TimeoutException)
        {
            outcome = Outcome.Detected;
        }
        catch (Exception)
        {
            outcome = Outcome.Undocumented;
        }
        return (outcome, Recover(region));
    }

    /// <summary>A lookup by name, as applications open channels: it may refuse (documented), never
    /// answer with the attacker's slot.</summary>
    private static int LookUp(PeerTable peers, string name)
    {
        PeerEntry entry = peers.FindByName(name) ?? throw new PeerGoneException($"no peer '{name}'");
        if (entry.Slot == 2) throw new InvalidOperationException($"the lookup of '{name}' answered with the attacker's slot");
        return entry.Slot;
    }

    private static int ReadSome(RingStream reader, byte[] into, int got, int until)
    {
        while (got < until)
        {
            int n = reader.Read(into, got, until - got);
            if (n == 0) break;
            got += n;
        }
        return got;
    }

    private static int ReadToEnd(RingStream reader, byte[] into, int got)
    {
        while (true)
        {
            if (got == into.Length) return got; // more than was sent: certainly wrong
            int n = reader.Read(into, got, into.Length - got);
            if (n == 0) return got;
            got += n;
        }
    }

    /// <summary>The attacker leaves (the daemon rewrites the header and its entry and clears the rings
    /// of empty pairs; here b leaves too, and a new peer takes b's slot); a opens a new session and
    /// the newcomer must get its message.</summary>
    private static bool Recover(Region region)
    {
        try
        {
            region.RewriteHeader();
            region.Peers.Rewrite(2, PeerState.Gone, 1, 12, PeerKind.HostProcess, "attacker", DateTimeOffset.UnixEpoch);
            region.Peers.Rewrite(1, PeerState.Gone, 1, 11, PeerKind.HostProcess, "b", DateTimeOffset.UnixEpoch);
            region.Peers.Rewrite(0, PeerState.Present, 1, 10, PeerKind.HostProcess, "a", DateTimeOffset.UnixEpoch);
            for (int other = 0; other < 3; other++)
                if (other != 2) { region.ResetRing(2, other); region.ResetRing(other, 2); }
            region.Peers.Join(1, 13, PeerKind.HostProcess, "b2", 2);
            RingChannel a = RingChannel.Open(region, 0, 1, null, PollingWaiter.Instance, Options);
            RingChannel b2 = RingChannel.Open(region, 1, 0, null, PollingWaiter.Instance, Options);
            a.Send([42], RecordTypes.FirstApplicationType);
            RingRecord record = b2.Receive();
            return record.Type == RecordTypes.FirstApplicationType && record.Payload.Length == 1 && record.Payload[0] == 42;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static void Strike(Attack attack, Region region, Random r)
    {
        RegionGeometry g = region.Geometry;
        SharedMemory ab = region.RingMemory(0, 1);
        long capacity = g.RingCapacity;
        long tail = ab.ReadInt64(RingLayout.TailOffset);
        switch (attack)
        {
            case Attack.ForgedSessionAtTail:
                ab.WriteInt64(RingLayout.SessionStartOffset, tail);
                ab.WriteInt64Release(RingLayout.ProducerSessionOffset, (long)((1UL << 32) | (uint)r.Next(1, int.MaxValue)));
                break;
            case Attack.RewoundSessionStart:
                long back = r.NextInt64(tail / 8 + 1) * 8;
                ab.WriteInt64(RingLayout.SessionStartOffset, back);
                ab.WriteInt64Release(RingLayout.HeadOffset, back);
                break;
            case Attack.ImpossibleTail: ab.WriteInt64Release(RingLayout.TailOffset, Nasty(r, tail, capacity)); break;
            case Attack.ImpossibleHead: ab.WriteInt64Release(RingLayout.HeadOffset, Nasty(r, tail, capacity)); break;
            case Attack.RandomSessionStart: ab.WriteInt64Release(RingLayout.SessionStartOffset, Nasty(r, tail, capacity)); break;
            case Attack.RandomProducerSession: ab.WriteInt64Release(RingLayout.ProducerSessionOffset, r.Next(2) == 0 ? r.NextInt64() : 0); break;
            case Attack.WaitingFlags:
                ab.WriteInt32Release(RingLayout.ConsumerWaitingOffset, r.Next(-1, 3));
                ab.WriteInt32Release(RingLayout.ProducerWaitingOffset, r.Next(-1, 3));
                break;
            case Attack.PeerTableEntry:
                region.Memory.WriteInt32(g.PeerEntryIndex(r.Next(2)) + 4 * r.Next(8), r.Next(4) == 0 ? r.Next() : r.Next(-2, 70));
                break;
            case Attack.ImpersonateByName:
                region.Peers.Rewrite(2, PeerState.Present, 1, 12, PeerKind.HostProcess, r.Next(2) == 0 ? "a" : "b", DateTimeOffset.UtcNow);
                break;
            case Attack.RegionHeader: region.Memory.WriteInt64(8 * r.Next(8), r.NextInt64()); break;
            case Attack.RecordHeaderLength:
                ab.WriteInt32(RingLayout.DataOffset + r.NextInt64(capacity / 8) * 8 + RingLayout.LengthOffset, r.Next(-8, 20_000));
                break;
            case Attack.RecordHeaderType:
                ab.WriteInt32(RingLayout.DataOffset + r.NextInt64(capacity / 8) * 8 + RingLayout.TypeOffset, r.Next(-3, 20));
                break;
        }
    }

    private static long Nasty(Random r, long tail, long capacity) => r.Next(6) switch
    {
        0 => -1,
        1 => long.MaxValue,
        2 => tail + capacity * r.Next(1, 3),
        3 => tail + r.Next(-64, 64) * 8,
        4 => r.NextInt64(),
        _ => r.Next(-4096, 4096),
    };

    public static string Table(Result result)
    {
        string[] outcomes = Enum.GetNames<Outcome>();
        var lines = new List<string>
        {
            $"{result.Cases} cases (seed {result.Seed}) in {result.Seconds} s; recovered afterwards: {result.Recovered}",
            $"{"attack",-24}{string.Concat(outcomes.Select(o => $"{o,14}"))}",
        };
        foreach ((string attack, Dictionary<string, int> byOutcome) in result.ByAttack)
            lines.Add($"{attack,-24}{string.Concat(outcomes.Select(o => $"{byOutcome[o],14}"))}{(IsControlOnly(Enum.Parse<Attack>(attack)) ? "" : "   (data area)")}");
        return string.Join('\n', lines);
    }
}
