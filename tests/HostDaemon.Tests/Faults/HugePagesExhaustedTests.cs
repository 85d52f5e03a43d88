using System.Diagnostics;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Server;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Daemon.Tests.SystemdContainer;
using Ivshmem.Peer.Host;

namespace Ivshmem.Daemon.Tests.Faults;

/// <summary>
/// Fault: a hugetlbfs region with no huge pages to back it. The test mounts its own hugetlbfs
/// limited to one 2 MiB page (mount option size=2M), so a 4 MiB region cannot get its pages whatever
/// the host's pool holds. At start-up the daemon does not start and says which region and why; added
/// by a reload, that region fails with the reason (event 1007) while the others keep serving, and
/// nothing is leaked.
/// </summary>
public sealed class HugePagesExhaustedTests
{
    private const int SIGHUP = 1;

    [RootFact("mounts a hugetlbfs")]
    public void AtStartUpTheDaemonSaysWhichRegionHasNoHugePagesAndWhy()
    {
        using var dir = new TestDirectory();
        using var mount = HugetlbfsMount.Create(dir.File("huge"));
        RegionOptions huge = TestConfig.Region("huge", size: 4 << 20, backing: RegionBacking.Hugetlbfs) with { HugetlbfsMount = mount.Path };
        var server = new IvshmemServer(TestConfig.Daemon(dir, TestConfig.Region("ok"), huge), new CapturingLogger());

        string message = Assert.Throws<IOException>(server.Start).Message;
        Assert.StartsWith("region 'huge': ", message);
        Assert.Contains("are enough huge pages free (HugePages_Free in /proc/meminfo; reserve them with vm.nr_hugepages)", message);
        server.Dispose();
        Assert.Empty(Directory.GetFiles(mount.Path)); // the unnamed file went with the failure
    }

    [RootFact("mounts a hugetlbfs")]
    public void AddedByAReloadTheRegionFailsWithTheReasonAndTheOthersKeepServing()
    {
        using var dir = new TestDirectory();
        using var mount = HugetlbfsMount.Create(dir.File("huge"));
        using var service = ServiceUnderTest.Start(dir, ServiceUnderTest.Region("ok"));
        int fdsBefore = FaultDaemon.WarmedUpFdCount(service, "ok");

        using (HostPeer resident = HostPeer.Connect(service.SocketOf("ok")))
        {
            File.WriteAllText(service.ConfigPath, ServiceUnderTest.Yaml(dir, ServiceUnderTest.Region("ok") +
                ServiceUnderTest.Region("huge", size: "4M", extra: $", backing: hugetlbfs, hugetlbfs_mount: {mount.Path}")));
            service.Process.Signal(SIGHUP);
            Eventually.True(() => service.Process.Log.Contains("Region 'huge' could not be set up", StringComparison.Ordinal),
                $"the failed region is logged (log:\n{service.Process.Log})");
            string line = service.Process.Log.Split('\n').First(l => l.Contains("Region 'huge' could not be set up", StringComparison.Ordinal));
            Assert.Contains("huge pages", line);
            Assert.False(File.Exists(service.SocketOf("huge")), "the failed region does not listen");

            using (HostPeer newcomer = HostPeer.Connect(service.SocketOf("ok"), new HostPeerOptions { TrackPeers = false }))
                Assert.True(resident.WaitForPeer(newcomer.OwnId, Eventually.DefaultTimeout), "the other region keeps serving");
            Assert.Empty(resident.Problems);
            Assert.False(service.Process.HasExited);
        }
        FaultDaemon.WaitForPeerCount(service, 0);
        FaultDaemon.WaitForFdCount(service, fdsBefore);
        Assert.Empty(Directory.GetFiles(mount.Path));
    }

    /// <summary>A hugetlbfs of its own, one 2 MiB page at most, unmounted on dispose.</summary>
    private sealed class HugetlbfsMount : IDisposable
    {
        private HugetlbfsMount(string path) => Path = path;

        public string Path { get; }

        public static HugetlbfsMount Create(string path)
        {
            Directory.CreateDirectory(path);
            Run("mount", "-t", "hugetlbfs", "-o", "pagesize=2M,size=2M", "none", path);
            return new HugetlbfsMount(path);
        }

        public void Dispose() => Run("umount", Path);

        private static void Run(string program, params string[] args)
        {
            var start = new ProcessStartInfo(program) { RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in args) start.ArgumentList.Add(a);
            using Process p = Process.Start(start)!;
            string error = p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(10_000) && p.ExitCode == 0, $"{program} {string.Join(' ', args)}: {error}");
        }
    }
}
