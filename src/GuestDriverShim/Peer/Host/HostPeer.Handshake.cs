using Ivshmem.Ring;
using Microsoft.Win32.SafeHandles;

namespace Ivshmem.Peer.Host;

public sealed partial class HostPeer
{
    private static readonly TimeSpan RefusalDrainTimeout = TimeSpan.FromSeconds(2);
    private int _ownId = -1;
    private int _ownCount;

    /// <summary>
    /// Reads the handshake strictly, in the order ivshmemd (and QEMU's reference server) sends it:
    /// 1 version 0, no fd; 2 own id 0..65535, no fd; 3 -1 with the memory fd; then eventfds of other
    /// peers (id + fd, vector 0 first) and possibly departures, until this peer's own <c>Vectors</c>
    /// eventfds have arrived (its own id + fd, sent last). Anything else throws, naming the message.
    /// </summary>
    private void Handshake()
    {
        long deadline = Environment.TickCount64 + (long)_options.HandshakeTimeout.TotalMilliseconds;

        ProtocolReader.Frame version = ReadHandshake(deadline, "the version message");
        if (version.Fd >= 0) Fail(version, "the version message came with an fd (QEMU: \"server sent invalid version message\")");
        if (version.Value != 0)
            throw new ServerRefusedException(_socketPath, version.Value, DrainAfterRefusal());

        ProtocolReader.Frame id = ReadHandshake(deadline, "the peer id message");
        if (id.Fd >= 0 || id.Value is < 0 or > 0xFFFF) Fail(id, "the second message must be this peer's id 0..65535 without an fd (QEMU: \"server sent invalid ID message\")");
        _ownId = (int)id.Value;

        ProtocolReader.Frame memory = ReadHandshake(deadline, "the shared memory message");
        if (memory.Value != -1 || memory.Fd < 0) Fail(memory, "the third message must be -1 with the shared memory fd");
        _memoryFd = new SafeFileHandle(memory.Fd, ownsHandle: true);

        while (_ownCount < _own.Length)
        {
            ProtocolReader.Frame frame = ReadHandshake(deadline, $"eventfd {_ownCount} of {_own.Length} of this peer");
            if (frame.Fd >= 0 && frame.Value == _ownId)
            {
                AddOwn(frame.Fd);
                continue;
            }
            if (frame.Fd >= 0 && frame.Value is >= 0 and <= 0xFFFF)
            {
                if (_ownCount > 0) Fail(frame, "another peer's eventfd came between this peer's own eventfds (its own come last)");
                if (!AddPeerVector((int)frame.Value, frame.Fd, out string? problem)) Fail(frame, problem!);
                continue;
            }
            if (frame.Fd < 0 && frame.Value is >= 0 and <= 0xFFFF && frame.Value != _ownId)
            {
                // A peer left while this handshake was under way: legal, if it was announced.
                if (!RemovePeer((int)frame.Value, out string? problem)) Fail(frame, problem!);
                continue;
            }
            Fail(frame, frame.Value == -1 ? "a second shared memory message" : $"value {frame.Value}{(frame.Fd >= 0 ? " with an fd" : "")} is not an eventfd announcement or a departure");
        }
    }

    private void AttachMemory()
    {
        _mapping = MappedMemory.MapFile(MemoryFd);
        if (!_options.AttachRegion) return;
        _region = Region.Attach(_mapping.Memory);
    }

    private void AddOwn(int fd)
    {
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        lock (_gate)
        {
            _own[_ownCount] = handle;
            _ownSignals[_ownCount] = new EventFdSignal(fd);
            _ownCount++;
        }
    }

    /// <summary>Takes the next eventfd of <paramref name="peerId"/>; false (fd closed) when it would be
    /// one more than the vectors (QEMU: "Too many eventfd received").</summary>
    private bool AddPeerVector(int peerId, int fd, out string? problem)
    {
        bool completed;
        lock (_gate)
        {
            if (_departed.Contains(peerId))
            {
                problem = $"an eventfd for peer {peerId}, which was announced as gone: ids must never come back (QEMU corrupts its heap)";
                Interop.Close(fd);
                return false;
            }
            if (!_peers.TryGetValue(peerId, out PeerFds? p))
            {
                p = new PeerFds(_own.Length);
                _peers.Add(peerId, p);
                _joinOrder.Add(peerId);
            }
            if (p.Count >= _own.Length)
            {
                problem = $"eventfd {p.Count + 1} for peer {peerId}, but the region has {_own.Length} vectors (QEMU: \"Too many eventfd received\")";
                Interop.Close(fd);
                return false;
            }
            p.Add(fd);
            completed = p.Count == _own.Length;
            Monitor.PulseAll(_gate);
        }
        problem = null;
        if (completed && _readerThread is not null) PeerConnected?.Invoke(peerId);
        return true;
    }

    /// <summary>A bare id: that peer left. False when it was never announced, or is this peer itself.</summary>
    private bool RemovePeer(int peerId, out string? problem)
    {
        lock (_gate)
        {
            if (peerId == _ownId)
            {
                problem = $"a departure message for this peer's own id {peerId} (QEMU: \"invalid peer {peerId}\")";
                return false;
            }
            if (!_peers.Remove(peerId, out PeerFds? p))
            {
                problem = _departed.Contains(peerId)
                    ? $"a second departure for peer {peerId} (QEMU would free its eventfds twice)"
                    : $"a departure for peer {peerId}, which was never announced";
                return false;
            }
            p.Dispose();
            _joinOrder.Remove(peerId);
            _departed.Add(peerId);
            Monitor.PulseAll(_gate);
        }
        problem = null;
        if (_readerThread is not null) PeerDisconnected?.Invoke(peerId);
        return true;
    }

    private ProtocolReader.Frame ReadHandshake(long deadline, string what)
    {
        int left = (int)Math.Max(0, deadline - Environment.TickCount64);
        ProtocolReader.Status status = _protocol.Read(left, -1, out ProtocolReader.Frame frame);
        if (status == ProtocolReader.Status.TimedOut)
            throw new TimeoutException($"{_socketPath}: waited {_options.HandshakeTimeout.TotalSeconds:0.#} s for {what}; received: {Describe(Messages)}. Does the region have {_options.Vectors} vectors (HostPeerOptions.Vectors)?");
        if (status == ProtocolReader.Status.EndOfFile)
            throw new HostPeerProtocolException($"{_socketPath}: the server closed the connection before {what} (QEMU would spin forever here); received: {Describe(Messages)}", Messages);
        Record(frame);
        if (frame.ControlTruncated) Fail(frame, "the kernel truncated its ancillary data (MSG_CTRUNC): fds were lost");
        if (frame.ExtraFds > 0) Fail(frame, $"it carried {frame.ExtraFds + 1} fds; a message carries at most one");
        return frame;
    }

    /// <summary>After a refusal ivshmemd closes at once; whatever still arrives is kept for the caller.</summary>
    private List<ServerMessage> DrainAfterRefusal()
    {
        var trailing = new List<ServerMessage>();
        long deadline = Environment.TickCount64 + (long)RefusalDrainTimeout.TotalMilliseconds;
        while (true)
        {
            int left = (int)Math.Max(0, deadline - Environment.TickCount64);
            if (_protocol.Read(left, -1, out ProtocolReader.Frame frame) != ProtocolReader.Status.Message) return trailing;
            trailing.Add(ToMessage(frame));
            Interop.Close(frame.Fd);
        }
    }

    private void Record(ProtocolReader.Frame frame)
    {
        if (_messages is null) return;
        ServerMessage message = ToMessage(frame);
        lock (_gate)
        {
            _messages.Add(message);
            Monitor.PulseAll(_gate);
        }
    }

    private static ServerMessage ToMessage(ProtocolReader.Frame frame) =>
        new(frame.Value, frame.Fd >= 0 ? Interop.DescribeFd(frame.Fd) : null, frame.ExtraFds);

    private void Fail(ProtocolReader.Frame frame, string problem)
    {
        Interop.Close(frame.Fd);
        throw new HostPeerProtocolException($"{_socketPath}: protocol violation in message {frame.Value}{(frame.Fd >= 0 ? " + fd" : "")}: {problem}; received before: {Describe(Messages)}", Messages);
    }

    private static string Describe(IReadOnlyList<ServerMessage> messages) =>
        messages.Count == 0 ? "nothing (enable RecordMessages to see them)" : string.Join(", ", messages);
}
