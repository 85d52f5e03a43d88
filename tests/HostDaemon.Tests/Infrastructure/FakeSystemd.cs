using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>One sd_notify datagram as received: its text and the fds that came with it.</summary>
/// <param name="Observed">What <see cref="FakeSystemd.Probe"/> saw the moment the datagram arrived.</param>
internal sealed record Datagram(string Text, int FdCount, string? Observed = null)
{
    public IReadOnlyDictionary<string, string> Fields => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => l.Split('=', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last().Length > 1 ? g.Last()[1] : "");

    public bool Is(string line) => Text.Split('\n').Contains(line);

    public override string ToString() => Text.Replace("\n", "\\n") + (FdCount > 0 ? $" [+{FdCount} fds]" : "");
}

/// <summary>
/// The parts of systemd a Type=notify service talks to, for tests: the notify socket (every datagram
/// recorded, fds included), the file descriptor store (FDSTORE=1/FDNAME=, FDSTOREREMOVE=1; a stored
/// fd whose other end hung up is dropped, as systemd does), and starting the service with the stored
/// fds as LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID.
/// </summary>
internal sealed unsafe class FakeSystemd : IDisposable
{
    private readonly int _socket;
    private readonly Thread _reader;
    private readonly object _gate = new();
    private readonly List<Datagram> _datagrams = [];
    private readonly List<(string Name, int Fd)> _store = [];
    private volatile bool _stopping;

    public FakeSystemd(TestDirectory dir)
    {
        NotifySocket = dir.File("notify.sock");
        _socket = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        byte* address = stackalloc byte[110];
        new Span<byte>(address, 110).Clear();
        *(ushort*)address = (ushort)AF_UNIX;
        int n = Encoding.UTF8.GetBytes(NotifySocket, new Span<byte>(address + 2, 107));
        if (bind(_socket, (sockaddr*)address, (socklen_t)(2 + n + 1)) != 0) throw new IOException($"bind {NotifySocket}: errno {Marshal.GetLastPInvokeError()}");
        int timeout = 100_000; // 100 ms receive timeout so the reader notices Dispose
        long* tv = stackalloc long[2];
        tv[0] = 0;
        tv[1] = timeout;
        setsockopt(_socket, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
        _reader = new Thread(Read) { IsBackground = true, Name = "fake systemd notify socket" };
        _reader.Start();
    }

    public string NotifySocket { get; }

    /// <summary>Looked at on the receiving thread as each datagram arrives (before anyone can react to
    /// it), e.g. which socket files exist when READY=1 comes.</summary>
    public Func<string>? Probe { get; set; }

    public IReadOnlyList<Datagram> Datagrams
    {
        get { lock (_gate) return [.. _datagrams]; }
    }

    /// <summary>Names in the fd store now (one entry per stored fd).</summary>
    public IReadOnlyList<string> StoredNames
    {
        get { lock (_gate) return _store.Select(s => s.Name).ToList(); }
    }

    /// <summary>A stored fd (owned by the store; do not close).</summary>
    public int StoredFd(string name)
    {
        lock (_gate) return _store.Single(s => s.Name == name).Fd;
    }

    /// <summary>Waits until some datagram satisfies <paramref name="match"/>; returns its index.</summary>
    public int WaitFor(Func<Datagram, bool> match, string what, int startIndex = 0, TimeSpan? timeout = null)
    {
        long deadline = Environment.TickCount64 + (long)(timeout ?? Eventually.DefaultTimeout).TotalMilliseconds;
        lock (_gate)
        {
            while (true)
            {
                for (int i = startIndex; i < _datagrams.Count; i++)
                    if (match(_datagrams[i])) return i;
                long left = deadline - Environment.TickCount64;
                if (left <= 0) Assert.Fail($"timed out waiting for {what}; datagrams so far:\n{string.Join("\n", _datagrams)}");
                Monitor.Wait(_gate, (int)left);
            }
        }
    }

    public int WaitForLine(string line, int startIndex = 0) => WaitFor(d => d.Is(line), $"'{line}'", startIndex);

    /// <summary>
    /// Starts <paramref name="argv"/> as the service: NOTIFY_SOCKET set, plus the whole fd store as
    /// LISTEN_FDS (after dropping stored fds whose peer hung up, as systemd does while it holds them).
    /// </summary>
    public SpawnedProcess StartService(IReadOnlyList<string> argv, string logPath, IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
        foreach (string key in new[] { "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID" }) environment.Remove(key);
        environment["NOTIFY_SOCKET"] = NotifySocket;
        foreach (var (k, v) in extraEnvironment ?? new Dictionary<string, string>()) environment[k] = v;
        List<(string Name, int Fd)> pass;
        lock (_gate)
        {
            DropHungUp();
            pass = [.. _store];
        }
        IReadOnlyList<string> command = argv;
        if (pass.Count > 0)
        {
            environment["LISTEN_FDS"] = pass.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            environment["LISTEN_FDNAMES"] = string.Join(':', pass.Select(p => p.Name));
            // LISTEN_PID must be the service's own pid: a shell that execs keeps its pid.
            command = ["/bin/sh", "-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", .. argv];
        }
        return new SpawnedProcess(Spawn.Start(command, environment, logPath, pass.Select(p => p.Fd).ToList()), logPath);
    }

    /// <summary>What systemd does when the unit stops for good (not for a restart): it closes the fd
    /// store, and with it the last copies of the peers' connections.</summary>
    public void ReleaseStore()
    {
        lock (_gate)
        {
            foreach (var (_, fd) in _store) close(fd);
            _store.Clear();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _reader.Join();
        close(_socket);
        lock (_gate)
        {
            foreach (var (_, fd) in _store) close(fd);
            _store.Clear();
        }
    }

    private void Read()
    {
        byte[] buffer = new byte[8192];
        int controlSpace = CMSG_SPACE(256 * sizeof(int));
        byte* control = (byte*)NativeMemory.Alloc((nuint)controlSpace);
        try
        {
            while (!_stopping)
            {
                var fds = new List<int>();
                long n;
                fixed (byte* data = buffer)
                {
                    iovec iov = default;
                    iov.iov_base = data;
                    iov.iov_len = (size_t)(ulong)buffer.Length;
                    msghdr message = default;
                    message.msg_iov = &iov;
                    message.msg_iovlen = 1;
                    message.msg_control = control;
                    message.msg_controllen = (socklen_t)controlSpace;
                    n = recvmsg(_socket, &message, MSG_CMSG_CLOEXEC);
                    if (n < 0) continue; // timeout: look at _stopping again
                    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != null; c = CMSG_NXTHDR(&message, c))
                    {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
                        int count = ((int)c->cmsg_len - sizeof(cmsghdr)) / sizeof(int);
                        for (int i = 0; i < count; i++) fds.Add(((int*)CMSG_DATA(c))[i]);
                    }
                }
                var datagram = new Datagram(Encoding.UTF8.GetString(buffer, 0, (int)n), fds.Count, Probe?.Invoke());
                lock (_gate)
                {
                    Apply(datagram, fds);
                    _datagrams.Add(datagram);
                    Monitor.PulseAll(_gate);
                }
            }
        }
        finally
        {
            NativeMemory.Free(control);
        }
    }

    /// <summary>systemd's fd store rules (sd_notify(3)): FDSTORE=1 keeps the fds under FDNAME (default
    /// "stored"); FDSTOREREMOVE=1 drops every fd of that name; fds sent without FDSTORE=1 are closed.</summary>
    private void Apply(Datagram datagram, List<int> fds)
    {
        var fields = datagram.Fields;
        string name = fields.GetValueOrDefault("FDNAME", "stored");
        if (fields.GetValueOrDefault("FDSTORE") == "1")
        {
            foreach (int fd in fds) _store.Add((name, fd));
            return;
        }
        foreach (int fd in fds) close(fd);
        if (fields.GetValueOrDefault("FDSTOREREMOVE") == "1")
        {
            foreach (var entry in _store.Where(s => s.Name == name).ToList())
            {
                close(entry.Fd);
                _store.Remove(entry);
            }
        }
    }

    private void DropHungUp()
    {
        foreach (var entry in _store.ToList())
        {
            pollfd p = default;
            p.fd = entry.Fd;
            p.events = 0;
            if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0)
            {
                close(entry.Fd);
                _store.Remove(entry);
            }
        }
    }
}

/// <summary>A process started by <see cref="FakeSystemd"/>; output in a log file.</summary>
internal sealed class SpawnedProcess(int pid, string logPath) : IDisposable
{
    private int? _exit;

    public int Pid { get; } = pid;

    public string Log => File.Exists(logPath) ? File.ReadAllText(logPath) : "";

    public bool HasExited => (_exit ??= Spawn.TryReap(Pid)) is not null;

    public void Signal(int signal) => Spawn.Signal(Pid, signal);

    /// <summary>Waits (bounded) for the exit status: exit code, or 128 + signal.</summary>
    public int WaitForExit(TimeSpan? timeout = null)
    {
        Eventually.True(() => HasExited, $"process {Pid} exited (log:\n{Log})", timeout);
        return _exit!.Value;
    }

    public void Dispose()
    {
        if (!HasExited)
        {
            Signal(9);
            WaitForExit();
        }
    }
}
