using Ivshmem.Bench.Coordination;
using Ivshmem.Bench.Native;
using Ivshmem.Ring;
using Microsoft.Win32.SafeHandles;

namespace Ivshmem.Bench.Ring;

/// <summary>
/// Provisions each pairing's region itself, as ivshmemd would for two host peers: a sealed memfd
/// formatted with <see cref="Region.Format"/> (2 slots, peers "bench-a" and "bench-b" joined), and one
/// eventfd per peer as its doorbell. The children inherit the fds.
/// </summary>
internal sealed class SelfProvisionedRegion(long regionSize) : IRegionSource
{
    public string Description =>
        $"self-provisioned memfd region of {Model.Sizes.Label(regionSize)} (2 slots: one ring of {Model.Sizes.Label(RegionLayout.Compute(regionSize, 2).RingCapacity / 1024 * 1024)}+ each way), eventfd doorbells";

    public RegionPairing Pair()
    {
        SafeFileHandle memfd = Memfd.Create("ivshmem-bench", regionSize);
        int fd = (int)memfd.DangerousGetHandle();
        using (MappedMemory mapping = MappedMemory.MapFile(fd))
        {
            Region region = Region.Format(mapping.Memory, 2);
            region.Peers.Join(0, 0, PeerKind.HostProcess, "bench-a");
            region.Peers.Join(1, 1, PeerKind.HostProcess, "bench-b");
        }
        int eventA = Posix.EventFd(), eventB = Posix.EventFd();
        var a = new ChildEndpointArgs(
            new Dictionary<string, string> { ["ring-source"] = "self", ["id"] = "0", ["peer-id"] = "1", ["peer-name"] = "bench-b" },
            new Dictionary<string, int> { ["memfd"] = fd, ["event-mine"] = eventA, ["event-peer"] = eventB });
        var b = new ChildEndpointArgs(
            new Dictionary<string, string> { ["ring-source"] = "self", ["id"] = "1", ["peer-id"] = "0", ["peer-name"] = "bench-a" },
            new Dictionary<string, int> { ["memfd"] = fd, ["event-mine"] = eventB, ["event-peer"] = eventA });
        return new RegionPairing(a, b, () =>
        {
            Posix.Close(eventA);
            Posix.Close(eventB);
            memfd.Dispose();
        });
    }

    public void Dispose() { }
}
