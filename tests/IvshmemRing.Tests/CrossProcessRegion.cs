using System.Diagnostics;
using Ivshmem.Ring;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace Ivshmem.Ring.Tests;

/// <summary>
/// A real memfd region shared with a TestPeer child process: the test is peer "a" (slot 0), the child
/// peer "b" (slot 1). The memfd and both eventfds reach the child as inherited fds (dup'ed without
/// close-on-exec), as a host peer would get them from ivshmemd.
/// </summary>
internal sealed class CrossProcessRegion : IDisposable
{
    private readonly SafeFileHandle _memfd;
    private readonly MappedMemory _mapping;
    private readonly List<Process> _children = [];
    private EventFdWaiter? _waiter;

    public CrossProcessRegion(long size = 64L << 20)
    {
        _memfd = Memfd.Create("ivshmem-test", size);
        _mapping = MappedMemory.MapFile((int)_memfd.DangerousGetHandle());
        Region = Region.Format(_mapping.Memory, 2);
        A = Region.Peers.Join(0, 0, PeerKind.HostProcess, "a");
        B = Region.Peers.Join(1, 1, PeerKind.HostProcess, "b");
        EventA = Interop.EventFdCreate();
        EventB = Interop.EventFdCreate();
    }

    public Region Region { get; }
    public PeerEntry A { get; }
    public PeerEntry B { get; }
    public int EventA { get; }
    public int EventB { get; }

    /// <summary>Slot 0's channel to slot 1, waking on its own eventfd and ringing the child's.</summary>
    public RingChannel OpenChannel(RingChannelOptions options)
    {
        _waiter ??= new EventFdWaiter([EventA]);
        return RingChannel.Open(Region, 0, 1, new EventFdSignal(EventB), _waiter, options);
    }

    /// <summary>Starts TestPeer as peer b with <paramref name="role"/> and extra key=value arguments.</summary>
    public Process StartPeer(string role, params string[] extra)
    {
        int memfd = LibC.dup((int)_memfd.DangerousGetHandle());
        int mine = LibC.dup(EventB);
        int peer = LibC.dup(EventA);
        try
        {
            var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "TestPeer"))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in new[] { role, $"memfd={memfd}", "slot=1", "peer=0", $"event-mine={mine}", $"event-peer={peer}", $"victim-epoch={A.Epoch}" }.Concat(extra))
                start.ArgumentList.Add(a);
            Process process = Process.Start(start)!;
            _children.Add(process);
            return process;
        }
        finally
        {
            LibC.close(memfd);
            LibC.close(mine);
            LibC.close(peer);
        }
    }

    /// <summary>Waits for the child and returns its stdout lines; fails with its output if it failed.</summary>
    public static string[] Finish(Process process, int timeoutMs = 120_000)
    {
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill();
            Assert.Fail($"TestPeer did not finish within {timeoutMs} ms");
        }
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        Assert.True(process.ExitCode == 0, $"TestPeer exited {process.ExitCode}: {stdout}{stderr}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public void Dispose()
    {
        foreach (Process p in _children)
        {
            if (!p.HasExited) p.Kill();
            p.Dispose();
        }
        _waiter?.Dispose();
        LibC.close(EventA);
        LibC.close(EventB);
        _mapping.Dispose();
        _memfd.Dispose();
    }
}
