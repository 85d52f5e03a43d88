using System.IO.Hashing;
using Ivshmem.Ring;

namespace Ivshmem.TestPeer;

/// <summary>The sending and receiving ends of a byte stream over a region passed in by fd.</summary>
public static class Roles
{
    public static int Send(PeerArgs a)
    {
        using var peer = AttachedPeer.Open(a);
        var (bytes, hash) = SendStream(peer.Channel, a.Long("bytes"), a.Long("seed"));
        Console.WriteLine($"sent {bytes} {hash:x16}");
        return 0;
    }

    public static int Receive(PeerArgs a)
    {
        using var peer = AttachedPeer.Open(a);
        var (bytes, hash) = ReceiveStream(peer.Channel);
        Console.WriteLine($"received {bytes} {hash:x16}");
        return 0;
    }

    public static int Duplex(PeerArgs a)
    {
        using var peer = AttachedPeer.Open(a);
        var receiver = Task.Run(() => ReceiveStream(peer.Channel));
        var (sent, sentHash) = SendStream(peer.Channel, a.Long("bytes"), a.Long("seed"));
        var (received, receivedHash) = receiver.GetAwaiter().GetResult();
        Console.WriteLine($"sent {sent} {sentHash:x16}");
        Console.WriteLine($"received {received} {receivedHash:x16}");
        return 0;
    }

    /// <summary>Writes <paramref name="total"/> seeded bytes in seeded chunk sizes, then end-of-stream,
    /// and waits until the reader has everything.</summary>
    public static (long Bytes, ulong Hash) SendStream(RingChannel channel, long total, long seed)
    {
        var data = new StreamData(seed);
        var hash = new XxHash3();
        byte[] buffer = new byte[256 * 1024];
        var stream = channel.AsStream();
        long sent = 0;
        while (sent < total)
        {
            int n = (int)Math.Min(data.NextChunkSize(buffer.Length), total - sent);
            data.Fill(buffer.AsSpan(0, n));
            hash.Append(buffer.AsSpan(0, n));
            stream.Write(buffer, 0, n);
            sent += n;
        }
        stream.CompleteWriting();
        channel.WaitUntilDrained();
        return (sent, hash.GetCurrentHashAsUInt64());
    }

    /// <summary>Reads until end-of-stream with reads of varying size.</summary>
    public static (long Bytes, ulong Hash) ReceiveStream(RingChannel channel)
    {
        var hash = new XxHash3();
        byte[] buffer = new byte[300 * 1024];
        var sizes = new Random(7);
        var stream = channel.AsStream();
        long received = 0;
        int n;
        while ((n = stream.Read(buffer, 0, sizes.Next(1, buffer.Length))) > 0)
        {
            hash.Append(buffer.AsSpan(0, n));
            received += n;
        }
        return (received, hash.GetCurrentHashAsUInt64());
    }
}
