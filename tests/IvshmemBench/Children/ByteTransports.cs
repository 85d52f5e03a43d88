using Ivshmem.Bench.Native;
using Ivshmem.Ring;

namespace Ivshmem.Bench.Children;

/// <summary>The sending end of a copying transfer: moves bytes from the sender's window.</summary>
internal unsafe interface IByteSink
{
    void Write(byte* data, int length);
}

/// <summary>The receiving end of a copying transfer: fills the receiver's window, at least one byte a call.</summary>
internal unsafe interface IByteSource
{
    int Read(byte* buffer, int maxLength);
}

/// <summary>UNIX socket, pipe or TCP: write(2) and read(2) on an inherited fd.</summary>
internal sealed unsafe class FdTransport(int fd) : IByteSink, IByteSource
{
    public void Write(byte* data, int length) => Posix.WriteAll(fd, data, length);

    public int Read(byte* buffer, int maxLength) => Posix.ReadSome(fd, buffer, maxLength);
}

/// <summary>The ring through its copying API: RingStream.Write copies into records (split at the
/// ring's record limit, each published at once), RingStream.Read copies out of them in place.</summary>
internal sealed unsafe class RingStreamTransport(RingStream stream) : IByteSink, IByteSource
{
    public void Write(byte* data, int length) => stream.Write(new ReadOnlySpan<byte>(data, length));

    public int Read(byte* buffer, int maxLength) => stream.Read(new Span<byte>(buffer, maxLength));
}

/// <summary>
/// The ring's zero-copy producer: claims a record in shared memory, copies the chunk into it (the one
/// copy any transport needs to get the bytes into shared memory), commits and publishes it. Records
/// are at most <paramref name="recordLimit"/> bytes, a multiple of the stamp block size.
/// </summary>
internal sealed unsafe class ZeroCopySink(RingChannel channel, int recordLimit) : IByteSink
{
    public const int RecordType = RecordTypes.FirstApplicationType;

    public void Write(byte* data, int length)
    {
        RingProducer producer = channel.Producer;
        while (length > 0)
        {
            int n = Math.Min(length, recordLimit);
            Span<byte> target = channel.Claim(n);
            new ReadOnlySpan<byte>(data, n).CopyTo(target);
            producer.Commit(RecordType);
            producer.Publish();
            data += n;
            length -= n;
        }
    }
}
