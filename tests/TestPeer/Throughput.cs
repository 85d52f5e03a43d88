using System.Diagnostics;
using Ivshmem.Ring;
using Tmds.Linux;

namespace Ivshmem.TestPeer;

/// <summary>
/// scripts/ring-throughput: streams BYTES in CHUNK-sized records from this process to a child over a
/// memfd region (doorbells through eventfds), then copies the same bytes in the same chunks with
/// Buffer.MemoryCopy in this process, and prints both rates. The ring copies twice (into the ring,
/// out of it) on two cores in parallel; memcpy copies once on one core.
/// </summary>
public static unsafe class Throughput
{
    public static int Run(PeerArgs a)
    {
        long total = a.Long("bytes", 4L << 30);
        int chunk = a.Int("chunk", 64 * 1024);
        long regionSize = a.Long("region", 64L << 20);
        int rounds = a.Int("rounds", 3);

        using var memfd = Memfd.Create("ring-throughput", regionSize);
        int fd = (int)memfd.DangerousGetHandle();
        using var mapping = MappedMemory.MapFile(fd);
        Region region = Region.Format(mapping.Memory, 2);
        region.Peers.Join(0, 0, PeerKind.HostProcess, "sender");
        region.Peers.Join(1, 1, PeerKind.HostProcess, "receiver");
        int eventSender = LibC.eventfd(0, LibC.EFD_NONBLOCK), eventReceiver = LibC.eventfd(0, LibC.EFD_NONBLOCK);

        int inherited = LibC.dup(fd); // the memfd is close-on-exec; the child gets a plain duplicate
        var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!,
            ["sink", $"memfd={inherited}", "slot=1", "peer=0", $"event-mine={eventReceiver}", $"event-peer={eventSender}", $"chunk={chunk}"])
            { RedirectStandardOutput = true })!;
        LibC.close(inherited);
        using var waiter = new EventFdWaiter([eventSender]);
        RingChannel channel = RingChannel.Open(region, 0, 1, new EventFdSignal(eventReceiver), waiter);

        byte[] source = new byte[chunk];
        new Random(1).NextBytes(source);
        byte[] destination = new byte[chunk];
        // The ring's stores go round a buffer of its capacity; so does this memcpy's second baseline.
        byte[] ringSized = new byte[region.Geometry.RingCapacity / chunk * chunk];
        Console.WriteLine($"{total >> 20} MiB in {chunk / 1024} KiB chunks, ring capacity {region.Geometry.RingCapacity >> 20} MiB, {rounds} rounds");
        Console.WriteLine("round  ring MB/s  memcpy-hot MB/s  memcpy-ring-sized MB/s  ring/memcpy-hot  ring/memcpy-ring-sized");
        for (int round = 1; round <= rounds; round++)
        {
            long start = Stopwatch.GetTimestamp();
            for (long sent = 0; sent < total; sent += chunk)
            {
                Span<byte> target = channel.Claim(chunk);
                source.CopyTo(target);
                channel.Producer.Commit(RecordTypes.StreamData);
                channel.Producer.Publish();
            }
            channel.WaitUntilDrained();
            double ring = total / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e6;

            start = Stopwatch.GetTimestamp();
            fixed (byte* s = source)
            fixed (byte* d = destination)
                for (long copied = 0; copied < total; copied += chunk)
                    Buffer.MemoryCopy(s, d, chunk, chunk);
            double hot = total / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e6;

            start = Stopwatch.GetTimestamp();
            fixed (byte* s = source)
            fixed (byte* d = ringSized)
                for (long copied = 0, offset = 0; copied < total; copied += chunk, offset = (offset + chunk) % ringSized.Length)
                    Buffer.MemoryCopy(s, d + offset, chunk, chunk);
            double sized = total / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e6;
            Console.WriteLine($"{round,5}  {ring,9:0}  {hot,15:0}  {sized,21:0}  {ring / hot,15:0.00}  {ring / sized,22:0.00}");
        }
        channel.Send([], RecordTypes.StreamEnd);
        child.WaitForExit();
        return child.ExitCode;
    }

    /// <summary>The receiving child: copies every record out into one buffer until end-of-stream.</summary>
    public static int Sink(PeerArgs a)
    {
        using var peer = AttachedPeer.Open(a);
        byte[] buffer = new byte[a.Int("chunk")];
        RingChannel channel = peer.Channel;
        while (true)
        {
            RingRecord record = channel.Receive();
            if (record.Type == RecordTypes.StreamEnd) return 0;
            record.Payload.CopyTo(buffer);
            channel.Consumer.Release();
        }
    }
}
