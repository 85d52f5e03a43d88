using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Server;

/// <summary>The other backings: a named file in /dev/shm, and hugetlbfs (only on a hugetlbfs mount).</summary>
public sealed class BackingTests
{
    [Fact]
    public void ShmFileBackingIsANamedFileOfTheRegionSizeThatPeersShare()
    {
        RegionOptions region = TestConfig.Region("a", size: 1 << 20, backing: RegionBacking.ShmFile);
        try
        {
            using var server = new RunningServer(region);
            using HostPeer peer = server.Connect("a");

            Assert.Equal(region.ShmFilePath, peer.Messages[2].FdTarget);
            Assert.Equal(1L << 20, new FileInfo(region.ShmFilePath!).Length);
            peer.Memory.WriteInt64(4096, 77);
            using var viaPath = File.OpenHandle(region.ShmFilePath!);
            byte[] word = new byte[8];
            RandomAccess.Read(viaPath, word, 4096);
            Assert.Equal(77, BitConverter.ToInt64(word));
        }
        finally
        {
            File.Delete(region.ShmFilePath!);
        }
    }

    [Fact]
    public void HugetlbfsBackingOnAnOrdinaryDirectoryIsRefusedWithTheReason()
    {
        using var dir = new TestDirectory();
        RegionOptions region = TestConfig.Region("a", backing: RegionBacking.Hugetlbfs) with { HugetlbfsMount = dir.Path };
        var server = new IvshmemServer(TestConfig.Daemon(dir, region), new CapturingLogger());

        // The region is named once: "region 'a': region 'a': ..." read badly in the start failure.
        Assert.StartsWith($"region 'a': {dir.Path} is not a hugetlbfs mount", Assert.Throws<IOException>(server.Start).Message);
        server.Dispose();
    }
}
