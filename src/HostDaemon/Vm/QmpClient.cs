using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Ivshmem.Daemon.Vm;

/// <summary>
/// A client of QEMU's machine protocol (QMP) on a UNIX socket (<c>-qmp unix:PATH,server=on,wait=off</c>):
/// the greeting, capabilities negotiation, commands with an id, and the asynchronous events that
/// arrive in between, kept until asked for (docs/migration.md, "QMP"). One command at a time, one
/// reader: a command-line tool's client, not a multiplexer. Every read is bounded by the timeout: a
/// QEMU that accepts and says nothing (another client holds its monitor, or it hangs) is an error,
/// not a hang. Requests are written with source-generated JSON, answers read with
/// <see cref="JsonDocument"/>: no reflection.
/// </summary>
internal sealed class QmpClient : IAsyncDisposable
{
    /// <summary>The longest message accepted; QEMU's answers here are a few KiB.</summary>
    private const int MaxMessageBytes = 4 << 20;

    /// <summary>Events kept for <see cref="WaitForEventAsync"/>; older ones are dropped.</summary>
    private const int MaxKeptEvents = 256;

    private readonly Socket _socket;
    private readonly TimeSpan _timeout;
    private readonly Queue<QmpEvent> _events = new();
    private byte[] _buffer = new byte[16 * 1024];
    private int _start, _end;
    private long _nextId = 1;

    private QmpClient(Socket socket, string path, TimeSpan timeout, int peerPid)
    {
        _socket = socket;
        Path = path;
        _timeout = timeout;
        PeerPid = peerPid;
    }

    public string Path { get; }

    /// <summary>The process at the other end, from the kernel (SO_PEERCRED): QEMU's pid.</summary>
    public int PeerPid { get; }

    /// <summary>Connects, reads the greeting and leaves negotiation mode (qmp_capabilities).
    /// <paramref name="timeout"/> bounds every later answer too.</summary>
    public static async Task<QmpClient> ConnectAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                connect.CancelAfter(timeout);
                try { await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), connect.Token).ConfigureAwait(false); }
                catch (SocketException e) { throw ConnectFailure(path, e); }
                catch (ArgumentException e) { throw new QmpException(QmpFailure.NoSocket, $"{path} cannot be a QMP socket: {e.Message.ReplaceLineEndings(" ")}"); }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new QmpException(QmpFailure.NoAnswer, $"QMP socket {path}: could not connect within {timeout.TotalSeconds:0.#} s");
                }
            }
            int pid = Interop.GetPeerCredentials((int)socket.SafeHandle.DangerousGetHandle()).Pid;
            var client = new QmpClient(socket, path, timeout, pid);
            using (JsonDocument greeting = await client.ReadMessageAsync("its greeting", cancellationToken).ConfigureAwait(false))
            {
                if (greeting.RootElement.ValueKind != JsonValueKind.Object || !greeting.RootElement.TryGetProperty("QMP", out _))
                    throw new QmpException(QmpFailure.Garbage, $"QMP socket {path}: the first message is not a QMP greeting: {Shorten(greeting.RootElement.GetRawText())}");
            }
            await client.ExecuteAsync("qmp_capabilities", cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static QmpException ConnectFailure(string path, SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AccessDenied => new QmpException(QmpFailure.NoPermission, $"cannot connect to the QMP socket {path}: permission denied"),
        SocketError.ConnectionRefused => new QmpException(QmpFailure.NoSocket,
            $"cannot connect to the QMP socket {path}: nothing listens on it (connection refused: the VM has exited, or it is not a socket)"),
        _ when !File.Exists(path) => new QmpException(QmpFailure.NoSocket,
            $"no QMP socket {path}: is the VM running, started with -qmp unix:{path},server=on,wait=off?"),
        _ => new QmpException(QmpFailure.NoSocket, $"cannot connect to the QMP socket {path}: {e.Message}"),
    };

    /// <summary>Runs a command without arguments; returns its "return" value.</summary>
    public Task<JsonElement> ExecuteAsync(string command, CancellationToken cancellationToken) =>
        ExecuteAsync<object?>(command, null, null, cancellationToken);

    /// <summary>Runs <paramref name="command"/> with <paramref name="arguments"/> (serialized by
    /// <paramref name="typeInfo"/>) and returns its "return" value; an "error" answer is a
    /// <see cref="QmpException"/> with QEMU's class and text.</summary>
    public Task<JsonElement> ExecuteAsync<T>(string command, T arguments, JsonTypeInfo<T>? typeInfo, CancellationToken cancellationToken) =>
        ExecuteAsync(command, arguments, typeInfo, -1, cancellationToken);

    /// <summary>As <see cref="ExecuteAsync{T}(string, T, JsonTypeInfo{T}, CancellationToken)"/>, with
    /// <paramref name="attachedFd"/> sent along (SCM_RIGHTS) for commands that take one (getfd);
    /// the caller keeps its own copy and closes it.</summary>
    public async Task<JsonElement> ExecuteAsync<T>(string command, T arguments, JsonTypeInfo<T>? typeInfo, int attachedFd, CancellationToken cancellationToken)
    {
        long id = _nextId++;
        await SendAsync(command, arguments, typeInfo, id, attachedFd, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            using JsonDocument message = await ReadMessageAsync($"the answer to {command}", cancellationToken).ConfigureAwait(false);
            JsonElement root = message.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new QmpException(QmpFailure.Garbage, $"QMP socket {Path}: not a JSON object: {Shorten(root.GetRawText())}");
            if (root.TryGetProperty("event", out JsonElement name) && name.ValueKind == JsonValueKind.String)
            {
                KeepEvent(root, name.GetString()!);
                continue;
            }
            if (!root.TryGetProperty("id", out JsonElement answerId) || answerId.ValueKind != JsonValueKind.Number
                || !answerId.TryGetInt64(out long number) || number != id)
                throw new QmpException(QmpFailure.Garbage, $"QMP socket {Path}: an answer that is not for {command} (id {id}): {Shorten(root.GetRawText())}");
            if (root.TryGetProperty("return", out JsonElement value))
                return value.Clone();
            if (root.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.Object)
            {
                string errorClass = error.TryGetProperty("class", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "?";
                string desc = error.TryGetProperty("desc", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : error.GetRawText();
                throw new QmpException(QmpFailure.CommandFailed, $"QEMU refused {command}: {desc}", errorClass, desc);
            }
            throw new QmpException(QmpFailure.Garbage, $"QMP socket {Path}: an answer to {command} with neither return nor error: {Shorten(root.GetRawText())}");
        }
    }

    /// <summary>
    /// Waits, at most <paramref name="timeout"/>, for the event <paramref name="name"/> whose data
    /// <paramref name="matches"/>; events that arrived during earlier commands count. Null when it did
    /// not come in time. Answers to nothing (there is no command in flight) are protocol errors.
    /// </summary>
    public async Task<QmpEvent?> WaitForEventAsync(string name, Func<JsonElement, bool> matches, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (TakeEvent(name, matches) is { } kept) return kept;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                using JsonDocument message = await ReadMessageAsync($"event {name}", deadline.Token, boundedByTimeout: false).ConfigureAwait(false);
                JsonElement root = message.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("event", out JsonElement eventName) || eventName.ValueKind != JsonValueKind.String)
                    throw new QmpException(QmpFailure.Garbage, $"QMP socket {Path}: an unexpected message while waiting for {name}: {Shorten(root.GetRawText())}");
                KeepEvent(root, eventName.GetString()!);
                if (TakeEvent(name, matches) is { } arrived) return arrived;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private void KeepEvent(JsonElement root, string name)
    {
        JsonElement data = root.TryGetProperty("data", out JsonElement d) ? d.Clone() : default;
        if (_events.Count == MaxKeptEvents) _events.Dequeue();
        _events.Enqueue(new QmpEvent(name, data));
    }

    private QmpEvent? TakeEvent(string name, Func<JsonElement, bool> matches)
    {
        QmpEvent? found = null;
        int count = _events.Count;
        for (int i = 0; i < count; i++)
        {
            QmpEvent e = _events.Dequeue();
            if (found is null && e.Name == name && matches(e.Data)) found = e;
            else _events.Enqueue(e);
        }
        return found;
    }

    private async Task SendAsync<T>(string command, T arguments, JsonTypeInfo<T>? typeInfo, long id, int attachedFd, CancellationToken cancellationToken)
    {
        var request = new MemoryStream();
        using (var writer = new Utf8JsonWriter(request))
        {
            writer.WriteStartObject();
            writer.WriteString("execute", command);
            if (typeInfo is not null)
            {
                writer.WritePropertyName("arguments");
                JsonSerializer.Serialize(writer, arguments, typeInfo);
            }
            writer.WriteNumber("id", id);
            writer.WriteEndObject();
        }
        request.WriteByte((byte)'\n');
        if (attachedFd >= 0)
        {
            SendWithFd(command, request.GetBuffer().AsSpan(0, (int)request.Length), attachedFd);
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            await _socket.SendAsync(request.GetBuffer().AsMemory(0, (int)request.Length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new QmpException(QmpFailure.Closed, $"QMP socket {Path}: sending {command} failed: {e.Message} (did QEMU exit?)");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new QmpException(QmpFailure.NoAnswer, $"QMP socket {Path}: QEMU took no request within {_timeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>One request with an fd, in one sendmsg (the fd must arrive with the command's bytes).
    /// The socket is idle between commands, so a request this small goes at once; a full buffer is
    /// waited for a little, within the timeout.</summary>
    private void SendWithFd(string command, ReadOnlySpan<byte> request, int fd)
    {
        long deadline = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
        while (true)
        {
            int errno = Interop.SendWithFd((int)_socket.SafeHandle.DangerousGetHandle(), request, fd);
            if (errno == 0) return;
            if (errno != Interop.EAGAIN || Environment.TickCount64 > deadline)
                throw new QmpException(QmpFailure.Closed, $"QMP socket {Path}: sending {command} failed: {Interop.ErrorFor(errno, "sendmsg").Message} (did QEMU exit?)");
            Thread.Sleep(5);
        }
    }

    /// <summary>The next newline-terminated JSON message. With <paramref name="boundedByTimeout"/> the
    /// read is bounded by the client's timeout; otherwise by <paramref name="cancellationToken"/> alone.</summary>
    private async Task<JsonDocument> ReadMessageAsync(string what, CancellationToken cancellationToken, bool boundedByTimeout = true)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (boundedByTimeout) timeout.CancelAfter(_timeout);
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                int end = newline > _start && _buffer[newline - 1] == (byte)'\r' ? newline - 1 : newline; // QEMU ends lines with CRLF
                var line = _buffer.AsMemory(_start, end - _start);
                _start = newline + 1;
                if (line.Span.Trim("\r \t"u8).IsEmpty) continue;
                try { return JsonDocument.Parse(line); }
                catch (JsonException)
                {
                    throw new QmpException(QmpFailure.Garbage, $"QMP socket {Path}: {what} is not JSON: {Shorten(Encoding.UTF8.GetString(line.Span))}");
                }
            }
            MakeRoom();
            int read;
            try { read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, timeout.Token).ConfigureAwait(false); }
            catch (SocketException e)
            {
                throw new QmpException(QmpFailure.Closed, $"QMP socket {Path}: reading {what} failed: {e.Message} (did QEMU exit?)");
            }
            catch (OperationCanceledException) when (boundedByTimeout && !cancellationToken.IsCancellationRequested)
            {
                throw new QmpException(QmpFailure.NoAnswer, $"QMP socket {Path}: no {what} within {_timeout.TotalSeconds:0.#} s " +
                    "(QEMU serves one QMP client at a time on a socket: is another one connected? Or QEMU hangs)");
            }
            if (read == 0)
                throw new QmpException(QmpFailure.Closed, $"QMP socket {Path}: QEMU closed the connection before {what} (did QEMU exit?)");
            _end += read;
        }
    }

    /// <summary>Moves the unread bytes to the front; grows the buffer up to the message limit.</summary>
    private void MakeRoom()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end < _buffer.Length) return;
        if (_buffer.Length >= MaxMessageBytes)
            throw new QmpException(QmpFailure.Garbage, $"QMP socket {Path}: a message longer than {MaxMessageBytes >> 20} MiB without a newline");
        Array.Resize(ref _buffer, _buffer.Length * 2);
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "...";

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>An asynchronous QMP event; <paramref name="Data"/> is default when it had none.</summary>
internal sealed record QmpEvent(string Name, JsonElement Data);

/// <summary>What kind of QMP failure, so that callers can choose an exit status.</summary>
internal enum QmpFailure
{
    /// <summary>No socket, nothing listening on it, or a path that cannot be one.</summary>
    NoSocket,
    /// <summary>Connecting is not allowed.</summary>
    NoPermission,
    /// <summary>No greeting or answer within the timeout.</summary>
    NoAnswer,
    /// <summary>QEMU closed the connection (exited).</summary>
    Closed,
    /// <summary>Something that is not QMP.</summary>
    Garbage,
    /// <summary>QEMU answered the command with an error.</summary>
    CommandFailed,
}

/// <summary>A QMP conversation that failed; the message says which socket and why.</summary>
internal sealed class QmpException(QmpFailure failure, string message, string? errorClass = null, string? description = null) : Exception(message)
{
    public QmpFailure Failure { get; } = failure;

    /// <summary>QEMU's error class ("GenericError", "DeviceNotFound") for <see cref="QmpFailure.CommandFailed"/>.</summary>
    public string? ErrorClass { get; } = errorClass;

    /// <summary>QEMU's error text for <see cref="QmpFailure.CommandFailed"/>.</summary>
    public string? Description { get; } = description;
}
