using System.Diagnostics;
using Ivshmem.Daemon.Libvirt;
using Ivshmem.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>
/// Detach needs a guest OS that lets go of the device, so these domains boot the project's test guest.
/// The follower attaches both, LibvirtHotplug detaches one, and the follower then refuses to attach
/// into that QEMU again (QEMU 7.2 crashes on a second ivshmem device in a process that lost one).
/// </summary>
public sealed class LibvirtGuestTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(120);

    [LibvirtFact]
    public async Task DetachCompletesWithAGuestAndTheFollowerNeverAttachesIntoThatQemuAgain()
    {
        GuestImage guest = GuestImage.Get();
        using var rig = new LibvirtRig(output);
        rig.Follow();
        rig.Libvirtd.Create(rig.A, TestDomainXml.For(rig.A, rig.Libvirtd.LogDirectory, guest));
        rig.Libvirtd.Create(rig.B, TestDomainXml.For(rig.B, rig.Libvirtd.LogDirectory, guest));
        Eventually.True(() => rig.PeersOf("lv").Count == 2, "the follower attached A and B", Boot);
        Eventually.True(() => rig.Libvirtd.ConsoleLog(rig.A).Contains("IVSHMEM-GUEST: ready"), "A's guest is up", Boot);

        await using (LibvirtHotplug hotplug = LibvirtHotplug.Open(rig.Libvirtd.Uri, rig.A))
        {
            int pid = await hotplug.QemuPidAsync(CancellationToken.None);
            long started = Stopwatch.GetTimestamp();
            await hotplug.DetachAsync(rig.Lv, TimeSpan.FromSeconds(30), CancellationToken.None);
            output.WriteLine($"detach of {rig.A} took {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms");

            Assert.False(await hotplug.HasDeviceAsync(rig.Lv, CancellationToken.None));
            Eventually.True(() => rig.PeersOf("lv").SequenceEqual([rig.B]), "A's QEMU closed its connection to the region");
            Eventually.True(() => rig.FollowerLog.WithEvent(7009).Any(), "the follower saw the removal");
            Assert.Contains($"'{rig.A}' (QEMU pid {pid}) had device 'shmem0' removed", Assert.Single(rig.FollowerLog.WithEvent(7009)).Message);
            await hotplug.DetachAsync(rig.Lv, TimeSpan.FromSeconds(5), CancellationToken.None); // gone already: nothing to do

            // B restarts: a start event makes the follower look again. B gets its device back; A,
            // whose QEMU lost one, does not, and its QEMU is still alive.
            rig.Libvirtd.MustVirsh("destroy", rig.B);
            rig.Libvirtd.Create(rig.B, TestDomainXml.For(rig.B, rig.Libvirtd.LogDirectory, guest));
            Eventually.True(() => rig.FollowerLog.WithEvent(7008).Any(), "the follower refused to attach into A's QEMU", Boot);
            Assert.Contains($"pid {pid}", Assert.Single(rig.FollowerLog.WithEvent(7008)).Message);
            Eventually.True(() => rig.PeersOf("lv").SequenceEqual([rig.B]), "B joined again", Boot);
            Assert.Equal(pid, await hotplug.QemuPidAsync(CancellationToken.None));
            Assert.False(await hotplug.HasDeviceAsync(rig.Lv, CancellationToken.None));
        }
    }
}
