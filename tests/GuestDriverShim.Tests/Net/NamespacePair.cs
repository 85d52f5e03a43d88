using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>One side of a <see cref="NamespacePair"/>: its namespace, its end of the veth pair (the
/// "normal network"), its addresses on it, and the name its net's TUN device gets.</summary>
internal sealed record NetSide(string Namespace, string Veth, IPAddress V4, IPAddress V6, string Tun)
{
    /// <summary>Runs <paramref name="work"/> on a thread of its own that has entered this namespace:
    /// a socket it creates belongs to the namespace for good, whichever thread uses it later.</summary>
    public T Inside<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                int fd;
                byte[] path = System.Text.Encoding.ASCII.GetBytes($"/run/netns/{Namespace}\0");
                unsafe
                {
                    fixed (byte* p = path) fd = open(p, O_RDONLY | O_CLOEXEC, 0);
                }
                if (fd < 0) throw new IOException($"open /run/netns/{Namespace}: errno {Marshal.GetLastPInvokeError()}");
                int r = setns(fd, 0x40000000 /* CLONE_NEWNET */);
                close(fd);
                if (r != 0) throw new IOException($"setns {Namespace}: errno {Marshal.GetLastPInvokeError()}");
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException($"in namespace {Namespace}: {failure.Message}", failure);
        return result;
    }

    /// <summary>A counter of an interface in this namespace (/sys/class/net/DEV/statistics/NAME).</summary>
    public long Counter(string device, string name) =>
        long.Parse(Command.Check("ip", "netns", "exec", Namespace, "cat", $"/sys/class/net/{device}/statistics/{name}").Trim());

    /// <summary>net's routes in this namespace, both families ('ip route show proto 73').</summary>
    public string NetRoutes() =>
        Command.Check("ip", "-n", Namespace, "-4", "route", "show", "proto", "73") + Command.Check("ip", "-n", Namespace, "-6", "route", "show", "proto", "73");

    public bool DeviceExists(string device) => Command.Run("ip", "-n", Namespace, "link", "show", device).ExitCode == 0;
}

/// <summary>
/// Two network namespaces joined by a veth pair that stands for the network between two machines
/// (10.77.0.1/24 and fd77::1/64 on side A, .2 and ::2 on side B), created for one test and deleted
/// after it. Names carry the test process's id and a counter, so parallel runs and leftovers of an
/// aborted run never meet.
/// </summary>
internal sealed class NamespacePair : IDisposable
{
    private static int _count;

    public NamespacePair()
    {
        string tag = $"{Environment.ProcessId % 100000}x{Interlocked.Increment(ref _count)}";
        A = new NetSide($"ivnet-{tag}-a", "veth-a", IPAddress.Parse("10.77.0.1"), IPAddress.Parse("fd77::1"), $"iv{tag}a");
        B = new NetSide($"ivnet-{tag}-b", "veth-b", IPAddress.Parse("10.77.0.2"), IPAddress.Parse("fd77::2"), $"iv{tag}b");
        try
        {
            foreach (NetSide side in new[] { A, B }) Command.Check("ip", "netns", "add", side.Namespace);
            Command.Check("ip", "link", "add", A.Veth, "netns", A.Namespace, "type", "veth", "peer", "name", B.Veth, "netns", B.Namespace);
            foreach (NetSide side in new[] { A, B })
            {
                Command.Check("ip", "-n", side.Namespace, "addr", "add", $"{side.V4}/24", "dev", side.Veth);
                Command.Check("ip", "-n", side.Namespace, "addr", "add", $"{side.V6}/64", "dev", side.Veth, "nodad");
                Command.Check("ip", "-n", side.Namespace, "link", "set", side.Veth, "up");
                Command.Check("ip", "-n", side.Namespace, "link", "set", "lo", "up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NetSide A { get; }
    public NetSide B { get; }

    public void Dispose()
    {
        foreach (NetSide side in new[] { A, B }) Command.Run("ip", "netns", "del", side.Namespace);
    }
}
