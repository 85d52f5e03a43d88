using Ivshmem.Peer.Host;
namespace Ivshmem.Peer.Tests.HostPeer;

/// <summary>
/// The host-peer client takes exactly the handshake of docs/protocol.md, "The handshake, in order" and
/// refuses everything QEMU refuses (docs/protocol.md, "How QEMU 7.2 reads the stream"), naming the
/// message; a refusal code comes back as such, and an end of file in the
/// middle is an error, not an endless wait.
/// </summary>
public sealed class HandshakeStrictnessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WellFormedHandshakeGivesIdMemoryPeersAndOwnVectors()
    {
        using var server = new ScriptedServer(_dir);
        server.Region.Peers.Join(0, 5, Ring.PeerKind.HostProcess, "other");
        server.Region.Peers.Join(1, 9, Ring.PeerKind.HostProcess, "me");
        using Peer.Host.HostPeer peer = Connect(server, s => s.SendHandshake(9, 2, 5));

        Assert.Equal(9, peer.OwnId);
        Assert.Equal([5], peer.PeerIds);
        Assert.Equal(2, peer.PeerVectorCount(5));
        Assert.Equal(1, peer.Self.Slot);
        Assert.Equal(server.Region.FormatId, peer.Region.FormatId);
        Assert.Equal(["0", "9", "-1+fd", "5+fd", "5+fd", "9+fd", "9+fd"], peer.Messages.Select(m => $"{m.Value}{(m.HasFd ? "+fd" : "")}"));
        Assert.True(peer.HandshakeTime > TimeSpan.Zero);
    }

    [Fact]
    public void NonzeroVersionIsARefusalWithItsCode()
    {
        using var server = new ScriptedServer(_dir);
        var refused = Assert.Throws<ServerRefusedException>(() => Connect(server, s => { s.Send(2); s.CloseClient(); }));
        Assert.Equal(2, refused.Code);
        Assert.Contains("region is full", refused.Message);
        Assert.Empty(refused.TrailingMessages);
    }

    [Theory]
    [InlineData("version with an fd", "the version message came with an fd")]
    [InlineData("id 70000", "the second message must be this peer's id")]
    [InlineData("memory before id", "the second message must be this peer's id")]
    [InlineData("no memory fd", "the third message must be -1 with the shared memory fd")]
    [InlineData("two fds in one message", "carried 2 fds")]
    [InlineData("a second memory", "a second shared memory message")]
    [InlineData("departure of a stranger", "never announced")]
    [InlineData("another peer between own eventfds", "between this peer's own eventfds")]
    public void MalformedHandshakeIsAProtocolViolationNamingTheMessage(string script, string expected)
    {
        using var server = new ScriptedServer(_dir);
        var error = Assert.Throws<HostPeerProtocolException>(() => Connect(server, s =>
        {
            switch (script)
            {
                case "version with an fd": s.Send(0, s.EventFd()); break;
                case "id 70000": s.Send(0); s.Send(70000); break;
                case "memory before id": s.Send(0); s.Send(-1, s.MemoryFd); break;
                case "no memory fd": s.Send(0); s.Send(1); s.Send(-1); break;
                case "two fds in one message": s.Send(0); s.Send(1); s.Send(-1, s.MemoryFd, s.EventFd()); break;
                case "a second memory": s.Send(0); s.Send(1); s.Send(-1, s.MemoryFd); s.Send(-1, s.MemoryFd); break;
                case "departure of a stranger": s.Send(0); s.Send(1); s.Send(-1, s.MemoryFd); s.Send(7); break;
                case "another peer between own eventfds": s.Send(0); s.Send(1); s.Send(-1, s.MemoryFd); s.Send(1, s.EventFd()); s.Send(3, s.EventFd()); break;
            }
            s.CloseClient();
        }));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void EndOfFileBeforeTheMemoryIsAnErrorNotAnEndlessWait()
    {
        using var server = new ScriptedServer(_dir);
        var error = Assert.Throws<HostPeerProtocolException>(() => Connect(server, s => { s.Send(0); s.Send(3); s.CloseClient(); }));
        Assert.Contains("closed the connection before the shared memory message", error.Message);
    }

    [Fact]
    public void FewerOwnEventFdsThanVectorsTimesOutSayingWhatWasExpected()
    {
        using var server = new ScriptedServer(_dir);
        server.Region.Peers.Join(0, 1, Ring.PeerKind.HostProcess, "me");
        var error = Assert.Throws<TimeoutException>(() => Connect(server, s => s.SendHandshake(1, 1), vectors: 2, timeout: TimeSpan.FromMilliseconds(300)));
        Assert.Contains("Does the region have 2 vectors", error.Message);
    }

    [Fact]
    public void ChosenNameTravelsInTheSocketAddress()
    {
        using var server = new ScriptedServer(_dir);
        server.Region.Peers.Join(0, 1, Ring.PeerKind.HostProcess, "me");
        string? bound = null;
        using Peer.Host.HostPeer peer = Connect(server, s => { bound = s.ClientAbstractName(); s.SendHandshake(1, 2); }, name: "bench-7");
        Assert.Matches("^ivshmem-peer/[0-9A-F]{16}/bench-7$", bound);
    }

    internal static Peer.Host.HostPeer Connect(ScriptedServer server, Action<ScriptedServer> script, int vectors = 2, string? name = null, TimeSpan? timeout = null)
    {
        var options = new HostPeerOptions { Vectors = vectors, RecordMessages = true, Name = name, HandshakeTimeout = timeout ?? TimeSpan.FromSeconds(10) };
        Task<Peer.Host.HostPeer> connecting = Task.Run(() => Peer.Host.HostPeer.Connect(server.SocketPath, options));
        server.Accept();
        script(server);
        try
        {
            if (!connecting.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("the client did not finish");
            return connecting.Result;
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
