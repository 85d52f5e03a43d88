using System.Buffers.Binary;

namespace Ivshmem.Peer.Host;

/// <summary>
/// Frames the server's byte stream into 8-byte messages, each with the fd that arrived with it (QEMU's
/// rule: the fd belongs to the message whose bytes it came with; docs/protocol.md, "Message format").
/// Extra fds and truncated control data are counted for the caller to judge; extra fds are closed.
/// </summary>
internal sealed class ProtocolReader(int socket)
{
    private readonly byte[] _buffer = new byte[8];
    private int _filled;
    private int _fd = -1;
    private int _extraFds;
    private bool _truncated;

    internal enum Status
    {
        Message,
        EndOfFile,
        TimedOut,
        Stopped,
    }

    /// <summary>One framed message.</summary>
    internal readonly record struct Frame(long Value, int Fd, int ExtraFds, bool ControlTruncated);

    /// <summary>Reads the next message, waiting at most <paramref name="timeoutMs"/> (-1: forever) in
    /// total, and returning <see cref="Status.Stopped"/> as soon as <paramref name="stopFd"/> (if not -1)
    /// becomes readable.</summary>
    public Status Read(int timeoutMs, int stopFd, out Frame frame)
    {
        frame = default;
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        Span<int> fds = stackalloc int[2];
        fds[0] = socket;
        fds[1] = stopFd;
        while (true)
        {
            int wait = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            int ready = Interop.WaitReadable(stopFd >= 0 ? fds : fds[..1], wait);
            if (ready < 0) return Status.TimedOut;
            if (ready == 1) return Status.Stopped;
            Interop.ReceiveResult r = Interop.Receive(socket, _buffer.AsSpan(_filled));
            if (r.Bytes == 0)
            {
                Interop.Close(r.Fd);
                Interop.Close(_fd);
                _fd = -1;
                return Status.EndOfFile;
            }
            if (r.Fd >= 0)
            {
                if (_fd < 0) _fd = r.Fd;
                else { Interop.Close(r.Fd); _extraFds++; }
            }
            _extraFds += r.ExtraFds;
            _truncated |= r.ControlTruncated;
            _filled += r.Bytes;
            if (_filled < 8) continue;
            frame = new Frame(BinaryPrimitives.ReadInt64LittleEndian(_buffer), _fd, _extraFds, _truncated);
            _filled = 0;
            _fd = -1;
            _extraFds = 0;
            _truncated = false;
            return Status.Message;
        }
    }
}
