using Ivshmem.Peer.Guest;
using Ivshmem.Peer.Tests.EndToEnd;

namespace Ivshmem.Peer.Tests.Hotplug;

/// <summary>
/// The listener against the real kernel: writing to a device's sysfs <c>uevent</c> file makes the
/// kernel send that event (a "synthetic" uevent, with a UUID this test chooses, so that other events
/// of a busy machine are told apart). Needs root to write the file.
/// </summary>
public sealed class UeventListenerTests
{
    private const string Lo = "/sys/class/net/lo/uevent";

    [RootFact]
    public void AnEventTheKernelSendsArrivesParsed()
    {
        using UeventListener listener = UeventListener.Open();
        string uuid = Guid.NewGuid().ToString();
        // Keys of synthetic events are letters and digits only (the kernel refuses IVSHMEM_TEST).
        File.WriteAllText(Lo, $"change {uuid} IVSHMEMTEST=listener");

        Uevent? mine = ReceiveWithUuid(listener, uuid, TimeSpan.FromSeconds(10));

        Assert.NotNull(mine);
        Assert.Equal("change", mine.Action);
        Assert.Equal("/devices/virtual/net/lo", mine.DevPath);
        Assert.Equal("net", mine.Subsystem);
        Assert.Equal("lo", mine.Get("INTERFACE"));
        Assert.Equal("listener", mine.Get("SYNTH_ARG_IVSHMEMTEST"));
    }

    [RootFact]
    public void ReceiveReturnsNullWhenNothingCameInTime()
    {
        using UeventListener listener = UeventListener.Open();
        // Other events of the machine may come meanwhile; none of them is this UUID.
        Assert.Null(ReceiveWithUuid(listener, Guid.NewGuid().ToString(), TimeSpan.FromMilliseconds(300)));
    }

    [RootFact]
    public void ADisposedListenerRefusesToReceive()
    {
        UeventListener listener = UeventListener.Open();
        listener.Dispose();
        Assert.Throws<ObjectDisposedException>(() => listener.Receive(0));
    }

    private static Uevent? ReceiveWithUuid(UeventListener listener, string uuid, TimeSpan within)
    {
        DateTime deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            int left = (int)Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds);
            if (listener.Receive(left) is { } uevent && uevent.Get("SYNTH_UUID") == uuid) return uevent;
        }
        return null;
    }
}
