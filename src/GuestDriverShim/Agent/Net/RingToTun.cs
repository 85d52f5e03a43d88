using Ivshmem.Agent.Protocol;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Net;

/// <summary>
/// The receiver thread: reads the ring from every peer and writes each packet record, unchanged, into
/// the TUN device (one write(2) per packet, the only call per packet); hands announcements,
/// heartbeats and byes to the control loop. It owns every consumer. Records are released once per
/// batch. When every ring is empty it spins briefly (as --wait-mode says) and then sleeps on the
/// doorbell, having told every peer that it sleeps.
/// <para>Nothing a peer writes is trusted: a packet must be IP, come from one of the peer's accepted
/// addresses and go to one of ours, or it is dropped and counted; a ring the peer corrupts ends that
/// link only.</para>
/// </summary>
internal sealed class RingToTun(NetPlane plane)
{
    private const int BatchRecords = 256;
    private readonly long _spin = NetPlane.Ticks(TimeSpan.FromMicroseconds(50));
    private readonly int _tickMs = (int)NetTimings.ControlTick.TotalMilliseconds;

    public void Run()
    {
        try
        {
            while (!plane.ReceiverStop)
            {
                if (!DrainAll()) Idle();
                Volatile.Write(ref plane.ReceiverAllocated, GC.GetAllocatedBytesForCurrentThread());
            }
        }
        catch (Exception e)
        {
            plane.Fail(e);
        }
    }

    private bool DrainAll()
    {
        bool any = false;
        foreach (PeerLink link in plane.Links)
        {
            if (link.Retired || link.Broken is not null) continue;
            try
            {
                any |= Drain(link);
            }
            catch (RingCorruptedException e)
            {
                link.Broken ??= e.Message;
                plane.WakeControl();
            }
        }
        return any;
    }

    /// <summary>Handles up to a batch of records from one peer; true when there were any.</summary>
    private bool Drain(PeerLink link)
    {
        RingConsumer consumer = link.Consumer ??= OpenConsumer(link);
        int count = 0;
        while (count < BatchRecords && consumer.TryRead(out RingRecord record))
        {
            if (consumer.ProducerSession != consumer.Session)
            {
                // The peer's program re-opened its end (its net restarted): this record is the new
                // session's, so it stays unreleased and a new consumer reads that session from its start.
                link.Consumer = OpenConsumer(link);
                return true;
            }
            Handle(link, record);
            count++;
        }
        consumer.Release();
        return count > 0;
    }

    private void Handle(PeerLink link, RingRecord record)
    {
        switch (record.Type)
        {
            case MessageTypes.NetPacket:
                Deliver(link, record.Payload);
                break;
            case MessageTypes.NetHeartbeat:
                if (NetRecords.TryDecodeHeartbeat(record.Payload, out ulong instance, out ulong heard) && (long)instance == Volatile.Read(ref link.PeerInstance))
                {
                    Volatile.Write(ref link.PeerHeard, (long)heard);
                    Volatile.Write(ref link.LastHeard, NetPlane.Now);
                }
                break;
            case MessageTypes.NetAnnounce:
                Announced(link, record.Payload);
                break;
            case MessageTypes.NetBye:
                if (NetRecords.TryDecodeBye(record.Payload, out ulong leaving) && (long)leaving == Volatile.Read(ref link.PeerInstance))
                {
                    link.SaidBye = true;
                    plane.WakeControl();
                }
                break;
            default:
                link.ForeignRecords++;
                break;
        }
    }

    /// <summary>An announcement: a new instance of the peer's net gets ours in answer; the control loop
    /// checks the addresses.</summary>
    private void Announced(PeerLink link, ReadOnlySpan<byte> payload)
    {
        long sequence = (link.Announcement?.Sequence ?? 0) + 1;
        if (!NetRecords.TryDecodeAnnounce(payload, out ulong instance, out List<System.Net.IPAddress> addresses, out string? error))
        {
            link.Announcement = new PeerAnnouncement(instance, [], error, sequence);
            plane.WakeControl();
            return;
        }
        Volatile.Write(ref link.LastHeard, NetPlane.Now);
        if ((long)instance != Volatile.Read(ref link.PeerInstance))
        {
            Volatile.Write(ref link.PeerHeard, 0);
            Volatile.Write(ref link.PeerInstance, (long)instance);
            link.SaidBye = false;
            link.AnnounceWanted = true;
            plane.WakeSender();
        }
        link.Announcement = new PeerAnnouncement(instance, addresses, null, sequence);
        plane.WakeControl();
    }

    private void Deliver(PeerLink link, ReadOnlySpan<byte> frame)
    {
        if (frame.Length <= Interop.VirtioNetHdrSize || !IpKey.TryRead(frame[Interop.VirtioNetHdrSize..], out UInt128 source, out UInt128 destination))
        {
            Drop(link, "a record that is not an IP packet");
            return;
        }
        if (!link.AcceptedSources.Contains(source))
        {
            Drop(link, "a packet whose source is not one of its accepted addresses");
            return;
        }
        if (!plane.LocalAddresses.Contains(destination))
        {
            Drop(link, "a packet for an address this side did not announce");
            return;
        }
        Volatile.Write(ref link.LastHeard, NetPlane.Now);
        int errno = plane.Tun.Write(frame);
        if (errno != 0)
        {
            link.DroppedByKernel++;
            if (link.InvalidPacketNote is null) link.InvalidPacketNote = $"the kernel refused a packet from it: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
            return;
        }
        link.FromPeerPackets++;
        link.FromPeerBytes += frame.Length - Interop.VirtioNetHdrSize;
    }

    private static void Drop(PeerLink link, string why)
    {
        link.DroppedInvalid++;
        // The reason is a constant string: noting it allocates nothing, and only the first is logged.
        link.InvalidPacketNote ??= why;
    }

    /// <summary>Every ring is empty: spin a little (unless --wait-mode block), then sleep on the
    /// doorbell until a peer publishes, or one control tick.</summary>
    private void Idle()
    {
        if (plane.WaitMode == WaitMode.BusyPoll)
        {
            Thread.SpinWait(20);
            return;
        }
        if (plane.WaitMode == WaitMode.SpinThenBlock)
        {
            long start = NetPlane.Now;
            while (NetPlane.Now - start < _spin)
            {
                if (AnyData()) return;
                Thread.SpinWait(20);
            }
        }
        IRingWaiter waiter = plane.Endpoint.Interrupts;
        long token = waiter.Prepare();
        SetWaiting(true);
        if (!AnyData()) waiter.Wait(token, _tickMs);
        SetWaiting(false);
    }

    private bool AnyData()
    {
        foreach (PeerLink link in plane.Links)
        {
            if (link.Retired || link.Broken is not null || link.Consumer is not { } consumer) continue;
            try
            {
                if (consumer.HasData()) return true;
            }
            catch (RingCorruptedException e)
            {
                link.Broken ??= e.Message;
                plane.WakeControl();
            }
        }
        return false;
    }

    private void SetWaiting(bool waiting)
    {
        foreach (PeerLink link in plane.Links)
            if (!link.Retired && link.Consumer is { } consumer) consumer.SetWaiting(waiting);
    }

    private RingConsumer OpenConsumer(PeerLink link)
    {
        PeerEntry self = plane.Self, peer = link.Peer;
        return new RingConsumer(plane.Endpoint.Region.RingMemory(peer.Slot, self.Slot), self.Epoch, link.Doorbell,
            $"ring {peer.Slot}->{self.Slot} ({peer.Name} -> {self.Name})");
    }
}
