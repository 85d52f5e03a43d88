using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>What a transfer moved: bytes and SHA-256 as sent and as received.</summary>
internal sealed record TransferResult(long SentBytes, string SentHash, long ReceivedBytes, string ReceivedHash);

/// <summary>
/// One TCP connection from a socket in one namespace to a listener in another, carrying seeded random
/// bytes, hashed on both ends: whatever path the kernel picks (the ring or the veth pair), the bytes
/// must arrive whole and in order.
/// </summary>
internal static class TcpTransfer
{
    public static TransferResult Run(NetSide from, NetSide to, IPAddress address, long bytes, int port = 5301)
    {
        using Socket listener = to.Inside(() =>
        {
            var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(address, port));
            s.Listen(1);
            return s;
        });
        Task<(long, string)> receiver = Task.Run(() =>
        {
            using Socket connection = listener.Accept();
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[] buffer = new byte[1 << 20];
            long total = 0;
            int n;
            while ((n = connection.Receive(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
            }
            return (total, Convert.ToHexString(hash.GetHashAndReset()));
        });
        using Socket client = from.Inside(() => new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        client.Connect(new IPEndPoint(address, port));
        using var sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(11);
        byte[] chunk = new byte[256 * 1024];
        long sent = 0;
        while (sent < bytes)
        {
            int n = (int)Math.Min(chunk.Length, bytes - sent);
            random.NextBytes(chunk.AsSpan(0, n));
            client.Send(chunk.AsSpan(0, n));
            sentHash.AppendData(chunk, 0, n);
            sent += n;
        }
        client.Shutdown(SocketShutdown.Send);
        Assert.True(receiver.Wait(TimeSpan.FromSeconds(120)), "the receiving end did not finish within 120 s");
        (long received, string receivedHash) = receiver.Result;
        return new TransferResult(sent, Convert.ToHexString(sentHash.GetHashAndReset()), received, receivedHash);
    }
}
