namespace Ivshmem.Ring;

/// <summary>
/// A byte stream over a <see cref="RingChannel"/>, for ordinary code (CopyTo, StreamReader,
/// PipeReader.Create). Writes are split into records of at most 64 KiB (and
/// <see cref="RingChannel.MaxPayload"/>) and each record is published as soon as it is written, so the
/// reader copies out while the writer copies in. Reads copy from the records in place and release
/// them every <see cref="ReleaseBytes"/> and at the end of each read, so a long read never holds the
/// room a writer waits for.
/// Disposing sends end-of-stream, which carries the number of bytes this stream wrote (u64); the
/// reader then gets 0 from Read, or <see cref="RingCorruptedException"/> when that is not what it
/// read (records were skipped or replayed by a peer rewriting the ring's control block).
/// <para>One reader and one writer at a time (they may be different threads).</para>
/// </summary>
public sealed class RingStream : Stream
{
    /// <summary>The most payload one record of a stream carries: a long write becomes several records,
    /// each published as soon as it is copied in, so a reader that is awake copies one out while the
    /// writer copies the next in, instead of waiting for the whole write (docs/ring.md, "The wake-up
    /// path").</summary>
    internal const int RecordBytes = 64 * 1024;

    /// <summary>A read that copies many records out gives their room back at least this often, not
    /// only when it returns: a writer whose ring is the producer's hot window (docs/ring.md, "The hot
    /// window") would otherwise wait for a whole long read to finish.</summary>
    internal const int ReleaseBytes = 64 * 1024;
    private readonly RingChannel _channel;
    private long _recordIndex;    // where the payload of the current record lies in the ring (read in place)
    private int _recordLength;
    private int _recordOffset;    // bytes of the current record already read
    private bool _hasRecord;      // a record is peeked and partly read
    private bool _endOfStream;
    private bool _disposed;
    private long _written;        // bytes written through this stream: what its end record carries
    private long _read;           // bytes read through this stream: checked against the writer's count
    private int _unreleased;      // bytes of records consumed since the last release

    internal RingStream(RingChannel channel) => _channel = channel;

    public override bool CanRead => !_disposed;
    public override bool CanWrite => !_disposed;
    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty || _endOfStream) return 0;
        int n = ReadAvailable(buffer);
        while (n == 0 && !_endOfStream)
        {
            _channel.WaitForData();
            n = ReadAvailable(buffer);
        }
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty || _endOfStream) return 0;
        int n = ReadAvailable(buffer.Span);
        while (n == 0 && !_endOfStream)
        {
            await _channel.WaitForDataAsync(cancellationToken).ConfigureAwait(false);
            n = ReadAvailable(buffer.Span);
        }
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        RingProducer producer = _channel.Producer;
        while (!buffer.IsEmpty)
        {
            int chunk = Math.Min(buffer.Length, Math.Min(RecordBytes, producer.MaxPayload));
            if (!TryWriteChunk(producer, buffer[..chunk]))
            {
                _channel.WaitForSpace(chunk);
                continue;
            }
            buffer = buffer[chunk..];
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        RingProducer producer = _channel.Producer;
        while (!buffer.IsEmpty)
        {
            int chunk = Math.Min(buffer.Length, Math.Min(RecordBytes, producer.MaxPayload));
            if (!TryWriteChunk(producer, buffer.Span[..chunk]))
            {
                await _channel.WaitForSpaceAsync(chunk, cancellationToken).ConfigureAwait(false);
                continue;
            }
            buffer = buffer[chunk..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Records are published as they are written; nothing is buffered here.</summary>
    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Sends end-of-stream without waiting for the reader.</summary>
    public void CompleteWriting()
    {
        Span<byte> total = stackalloc byte[sizeof(long)];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(total, _written);
        _channel.Send(total, RecordTypes.StreamEnd);
    }

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _disposed = true;
            try { CompleteWriting(); }
            finally { _channel.Consumer.Release(); }
        }
        base.Dispose(disposing);
    }

    private bool TryWriteChunk(RingProducer producer, ReadOnlySpan<byte> chunk)
    {
        if (!producer.TryClaim(chunk.Length, out Span<byte> target)) return false;
        chunk.CopyTo(target);
        producer.Commit(RecordTypes.StreamData);
        producer.Publish();
        _written += chunk.Length;
        return true;
    }

    /// <summary>Copies whatever is already in the ring, without waiting, and releases the records it
    /// finished (a record read only in part stays unconsumed, so the producer cannot reuse it).</summary>
    private int ReadAvailable(Span<byte> buffer)
    {
        RingConsumer consumer = _channel.Consumer;
        bool streaming = buffer.Length >= StreamingCopy.ReadThreshold;
        int copied = 0;
        while (copied < buffer.Length)
        {
            if (!_hasRecord)
            {
                if (!consumer.TryPeek(out _recordIndex, out _recordLength, out int type)) break;
                if (type == RecordTypes.StreamEnd)
                {
                    CheckEnd(consumer);
                    consumer.Consume(_recordIndex, _recordLength);
                    _endOfStream = true;
                    break;
                }
                if (type != RecordTypes.StreamData)
                    throw new RingCorruptedException(consumer.Name, $"a record of type {type} arrived on a byte stream (expected {RecordTypes.StreamData} or {RecordTypes.StreamEnd})");
                _recordOffset = 0;
                _hasRecord = true;
            }
            int n = Math.Min(buffer.Length - copied, _recordLength - _recordOffset);
            ReadOnlySpan<byte> payload = consumer.PayloadAt(_recordIndex, _recordLength).Slice(_recordOffset, n);
            if (streaming) StreamingCopy.Copy(payload, buffer[copied..]);
            else payload.CopyTo(buffer[copied..]);
            _recordOffset += n;
            copied += n;
            _read += n;
            if (_recordOffset == _recordLength)
            {
                consumer.Consume(_recordIndex, _recordLength);
                _hasRecord = false;
                if ((_unreleased += _recordLength) >= ReleaseBytes)
                {
                    consumer.Release();
                    _unreleased = 0;
                }
            }
        }
        if (streaming) StreamingCopy.Fence();
        consumer.Release();
        _unreleased = 0;
        return copied;
    }

    /// <summary>The end record must carry exactly what this side read; anything else means records of
    /// the stream were lost, skipped or replayed on the way (the payload itself is not authenticated:
    /// see docs/ring.md, "One region, one trust domain").</summary>
    private void CheckEnd(RingConsumer consumer)
    {
        ReadOnlySpan<byte> payload = consumer.PayloadAt(_recordIndex, _recordLength);
        if (payload.Length != sizeof(long))
            throw new RingCorruptedException(consumer.Name, $"an end-of-stream record of {payload.Length} bytes arrived (it carries the stream's length in {sizeof(long)})");
        long sent = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(payload);
        if (sent != _read)
            throw new RingCorruptedException(consumer.Name, $"the stream ended after {_read} bytes, but its writer sent {sent}: records were skipped or replayed");
    }
}
