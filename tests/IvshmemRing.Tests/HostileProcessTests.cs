using Ivshmem.Ring;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// Another process scribbles random and targeted values over the header, the peer table, both rings'
/// control blocks and record headers, thousands of times, while this side keeps reading and writing.
/// This side may only ever see the library's own errors, and re-opens after each.
/// </summary>
public class HostileProcessTests
{
    [Fact]
    public void AScribblingPeerOnlyEverCausesTheLibrarysOwnErrors()
    {
        using var region = new CrossProcessRegion(1L << 20);
        var scribbler = region.StartPeer("scribble", "seed=1234", "duration-ms=4000");
        var errors = new Dictionary<string, int>();
        long reads = 0, writes = 0;
        byte[] payload = new byte[200];
        RingChannel? channel = null;
        var options = new RingChannelOptions { Timeout = TimeSpan.FromSeconds(1) };
        while (!scribbler.HasExited)
        {
            try
            {
                channel ??= region.OpenChannel(options);
                for (int i = 0; i < 100; i++)
                {
                    if (channel.Producer.TryWrite(payload.AsSpan(0, i))) writes++;
                    while (channel.Consumer.TryRead(out RingRecord record)) { reads++; _ = record.Payload.Length; }
                    channel.Consumer.Release();
                }
                channel.ThrowIfPeerGone();
            }
            catch (IvshmemException e)
            {
                string kind = e.GetType().Name;
                errors[kind] = errors.GetValueOrDefault(kind) + 1;
                channel = null;
                RestoreTable(region);
            }
            // Anything else escapes and fails the test: that is the point.
        }
        string[] lines = CrossProcessRegion.Finish(scribbler);
        long scribbled = long.Parse(lines.Single().Split(' ')[1]);
        Assert.True(scribbled >= 1000, $"only {scribbled} scribbles");
        Assert.True(errors.GetValueOrDefault(nameof(RingCorruptedException)) > 0, "no corruption was ever detected: " + Describe(errors));
        Assert.True(reads > 0, "the victim never read a record, so records in flight were not attacked");
        Console.WriteLine($"{lines.Single()}: {scribbled} scribbles, {writes} writes, {reads} reads, errors: {Describe(errors)}");
    }

    /// <summary>Resets the header, the table and both rings' control blocks, so the victim can re-open
    /// and be attacked afresh rather than failing on the same bad value. The scribbler keeps going
    /// meanwhile, so the next open may fail again: that is counted too.</summary>
    private static void RestoreTable(CrossProcessRegion region)
    {
        var memory = region.Region.Memory;
        memory.WriteInt64(RegionLayout.MagicOffset, (long)RegionLayout.Magic);
        for (int slot = 0; slot < 2; slot++)
            memory.Span(region.Region.Geometry.PeerEntryIndex(slot), RegionLayout.PeerEntrySize).Clear();
        region.Region.RingMemory(0, 1).Clear(0, RingLayout.ControlSize);
        region.Region.RingMemory(1, 0).Clear(0, RingLayout.ControlSize);
        region.Region.Peers.Join(0, 0, PeerKind.HostProcess, "a");
        region.Region.Peers.Join(1, 1, PeerKind.HostProcess, "b");
    }

    private static string Describe(Dictionary<string, int> errors) => string.Join(", ", errors.Select(kv => $"{kv.Key} {kv.Value}"));
}
