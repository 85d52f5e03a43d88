using Ivshmem.Ring;

namespace Ivshmem.Peer.Host;

public sealed partial class HostPeer
{
    /// <summary>Starts following join and leave announcements now, for a peer connected with
    /// <see cref="HostPeerOptions.TrackPeers"/> off (what it missed meanwhile waits in its socket).</summary>
    public void StartTrackingPeers()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_readerThread is not null) return;
        }
        StartReader();
    }

    private void StartReader()
    {
        _stopFd = Interop.EventFdCreate();
        _readerThread = new Thread(ReadAnnouncements) { IsBackground = true, Name = $"ivshmem host peer {_ownId} reader" };
        _readerThread.Start();
    }

    /// <summary>
    /// After the handshake the server only announces peers joining (id + fd, one per vector) and
    /// leaving (bare id). Like QEMU, a violation is noted (<see cref="Problems"/>) and stray fds are
    /// closed, but the peer carries on: the data plane does not depend on the server.
    /// </summary>
    private void ReadAnnouncements()
    {
        while (true)
        {
            ProtocolReader.Status status;
            ProtocolReader.Frame frame;
            try
            {
                status = _protocol.Read(-1, _stopFd, out frame);
            }
            catch (IOException e)
            {
                Problem($"reading from the server failed: {e.Message}");
                status = ProtocolReader.Status.EndOfFile;
                frame = default;
            }
            if (status == ProtocolReader.Status.Stopped) return;
            if (status == ProtocolReader.Status.EndOfFile)
            {
                lock (_gate)
                {
                    _serverGone = true;
                    Monitor.PulseAll(_gate);
                }
                ServerDisconnected?.Invoke();
                return;
            }
            Record(frame);
            if (frame.ControlTruncated) Problem($"message {frame.Value}: the kernel truncated its ancillary data (MSG_CTRUNC)");
            if (frame.ExtraFds > 0) Problem($"message {frame.Value}: {frame.ExtraFds} extra fds (closed)");
            Apply(frame);
        }
    }

    private void Apply(ProtocolReader.Frame frame)
    {
        string? problem;
        if (frame.Fd >= 0)
        {
            if (frame.Value is >= 0 and <= 0xFFFF && frame.Value != _ownId)
            {
                // AddPeerVector closes the fd itself when it refuses it.
                if (AddPeerVector((int)frame.Value, frame.Fd, out problem)) return;
            }
            else
            {
                Interop.Close(frame.Fd);
                problem = frame.Value == -1 ? "a second shared memory message (QEMU: \"server sent unexpected shared memory message\")"
                    : frame.Value == _ownId ? $"another eventfd for this peer's own id {_ownId} after the handshake"
                    : $"invalid message {frame.Value} with an fd";
            }
        }
        else if (frame.Value is >= 0 and <= 0xFFFF)
        {
            if (RemovePeer((int)frame.Value, out problem)) return;
        }
        else
        {
            problem = $"invalid message {frame.Value} (QEMU: \"server sent invalid message\")";
        }
        Problem(problem!);
    }

    private void Problem(string problem)
    {
        lock (_gate)
        {
            _problems.Add(problem);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits until all eventfds of peer <paramref name="peerId"/> have arrived; false on timeout.</summary>
    public bool WaitForPeer(int peerId, TimeSpan timeout) =>
        WaitUntil(() => _peers.TryGetValue(peerId, out PeerFds? p) && p.Count == _own.Length, timeout);

    /// <summary>Waits until the server announced that peer <paramref name="peerId"/> left; false on timeout.</summary>
    public bool WaitForDeparture(int peerId, TimeSpan timeout) => WaitUntil(() => _departed.Contains(peerId), timeout);

    /// <summary>Waits until at least <paramref name="count"/> messages were recorded; false on timeout.</summary>
    internal bool WaitForMessages(int count, TimeSpan timeout) => WaitUntil(() => (_messages?.Count ?? 0) >= count, timeout);

    /// <summary>Waits until the server closed the connection; false on timeout.</summary>
    public bool WaitForServerGone(TimeSpan timeout) => WaitUntil(() => _serverGone, timeout);

    private bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_gate)
        {
            while (!condition())
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0 || _disposed) return false;
                Monitor.Wait(_gate, (int)Math.Min(left, int.MaxValue));
            }
            return true;
        }
    }
}
