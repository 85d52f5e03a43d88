namespace Ivshmem.Bench.Model;

/// <summary>What carries the bytes from the sender process to the receiver process.</summary>
internal enum Transport
{
    /// <summary>IvshmemRing through its copying API (RingStream: the sender copies in, the receiver copies out).</summary>
    Ring,
    /// <summary>IvshmemRing zero-copy: the sender copies into claimed records, the receiver reads them in place.</summary>
    RingZeroCopy,
    /// <summary>A UNIX stream socket (socketpair).</summary>
    Uds,
    /// <summary>An anonymous pipe (default 64 KiB kernel buffer, as the paper's).</summary>
    Pipe,
    /// <summary>TCP over 127.0.0.1.</summary>
    Tcp,
    /// <summary>Not a transport: one thread copying the same bytes from one buffer to another, the ceiling.</summary>
    Memcpy,
    /// <summary>Not a transport: two threads on the pair's two CPUs copying in and out through a
    /// small buffer with nothing else between them, the ceiling of any transport that copies twice.</summary>
    CopyPipeline,
}

internal static class TransportNames
{
    public static readonly IReadOnlyList<Transport> All = Enum.GetValues<Transport>();

    public static readonly IReadOnlyList<Transport> Kernel = [Transport.Uds, Transport.Pipe, Transport.Tcp];

    /// <summary>The names the JSON and the command line use.</summary>
    public static string Name(this Transport t) => t switch
    {
        Transport.Ring => "ring",
        Transport.RingZeroCopy => "ring-zero-copy",
        Transport.Uds => "uds",
        Transport.Pipe => "pipe",
        Transport.Tcp => "tcp",
        Transport.Memcpy => "memcpy",
        Transport.CopyPipeline => "copy-pipeline",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static Transport Parse(string name)
    {
        string wanted = name.Trim().ToLowerInvariant();
        foreach (Transport t in All)
            if (t.Name() == wanted) return t;
        throw new FormatException($"unknown transport '{name}'; known: {string.Join(", ", All.Select(x => x.Name()))}");
    }

    public static bool IsRing(this Transport t) => t is Transport.Ring or Transport.RingZeroCopy;
}
