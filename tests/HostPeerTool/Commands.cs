using System.Diagnostics;
using System.IO.Hashing;
using Ivshmem.Peer.Host;
using Ivshmem.Ring;

namespace Ivshmem.HostPeerTool;

/// <summary>The peer commands: join and hold, send a stream, receive a stream.</summary>
internal static class Commands
{
    private static readonly TimeSpan PeerWait = TimeSpan.FromSeconds(60);

    /// <summary>Joins, prints who it is, and stays until standard input closes (or it is killed).</summary>
    public static int Join(ToolArgs a)
    {
        using HostPeer peer = Connect(a);
        Console.WriteLine($"joined id={peer.OwnId} slot={peer.Self.Slot} name={peer.Self.Name}");
        Console.Out.Flush();
        Console.In.ReadToEnd();
        return 0;
    }

    /// <summary>Streams --bytes of seeded data to peer --to, then waits until it has read everything.</summary>
    public static int Send(ToolArgs a)
    {
        using HostPeer peer = Connect(a);
        PeerEntry target = WaitForPeer(peer, a.Required("to"));
        Console.WriteLine($"peer id={peer.OwnId} slot={peer.Self.Slot} name={peer.Self.Name} to={target.Name} to-id={target.PeerId} to-slot={target.Slot}");
        RingChannel channel = peer.OpenChannel(target);
        long total = a.Long("bytes", 256L << 20);
        var data = new SeededData(a.Long("seed", 1));
        var hash = new XxHash3();
        byte[] buffer = new byte[256 * 1024];
        long start = Stopwatch.GetTimestamp();
        using (RingStream stream = channel.AsStream())
        {
            for (long sent = 0; sent < total;)
            {
                int n = (int)Math.Min(buffer.Length, total - sent);
                data.Fill(buffer.AsSpan(0, n));
                hash.Append(buffer.AsSpan(0, n));
                stream.Write(buffer, 0, n);
                sent += n;
            }
            stream.CompleteWriting();
            channel.WaitUntilDrained();
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Console.WriteLine($"sent bytes={total} xxhash3={hash.GetCurrentHashAsUInt64():x16} seconds={seconds:0.000} mb-per-s={total / seconds / 1e6:0}");
        return 0;
    }

    /// <summary>Reads the stream from peer --from until it ends.</summary>
    public static int Receive(ToolArgs a)
    {
        using HostPeer peer = Connect(a);
        PeerEntry source = WaitForPeer(peer, a.Required("from"));
        Console.WriteLine($"peer id={peer.OwnId} slot={peer.Self.Slot} name={peer.Self.Name} from={source.Name} from-id={source.PeerId} from-slot={source.Slot}");
        RingChannel channel = peer.OpenChannel(source);
        var hash = new XxHash3();
        byte[] buffer = new byte[256 * 1024];
        long received = 0;
        long start = 0;
        using (RingStream stream = channel.AsStream())
        {
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (received == 0) start = Stopwatch.GetTimestamp();
                hash.Append(buffer.AsSpan(0, n));
                received += n;
            }
        }
        double seconds = start == 0 ? 0 : Stopwatch.GetElapsedTime(start).TotalSeconds;
        Console.WriteLine($"received bytes={received} xxhash3={hash.GetCurrentHashAsUInt64():x16} seconds={seconds:0.000} mb-per-s={(seconds > 0 ? received / seconds / 1e6 : 0):0}");
        return 0;
    }

    private static HostPeer Connect(ToolArgs a) => HostPeer.Connect(a.RequiredSocket, new HostPeerOptions
    {
        Name = a.Get("name"),
        Vectors = a.Int("vectors", 2),
    });

    /// <summary>Waits for <paramref name="name"/> in the peer table; the daemon rings the control
    /// vector on every join, so this wakes when something changed (and looks again every 100 ms).</summary>
    private static PeerEntry WaitForPeer(HostPeer peer, string name)
    {
        long deadline = Environment.TickCount64 + (long)PeerWait.TotalMilliseconds;
        while (true)
        {
            long token = peer.Interrupts.Prepare();
            try { return peer.FindPeer(name); }
            catch (PeerGoneException) when (Environment.TickCount64 < deadline) { peer.Interrupts.Wait(token, 100); }
        }
    }
}

/// <summary>Reproducible bytes (xorshift64) so sender and receiver need not exchange the data to
/// agree on its checksum.</summary>
internal sealed class SeededData(long seed)
{
    private ulong _state = (ulong)seed * 0x9E3779B97F4A7C15UL | 1;

    public void Fill(Span<byte> buffer)
    {
        Span<ulong> words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(buffer);
        ulong s = _state;
        for (int i = 0; i < words.Length; i++)
        {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            words[i] = s;
        }
        for (int i = words.Length * 8; i < buffer.Length; i++)
        {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            buffer[i] = (byte)s;
        }
        _state = s;
    }
}
