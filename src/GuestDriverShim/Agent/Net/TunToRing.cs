using System.Diagnostics;
using Ivshmem.Agent.Protocol;
using Ivshmem.Ring;
using Tmds.Linux;

namespace Ivshmem.Agent.Net;

/// <summary>
/// The sender thread: reads packets from the TUN device and writes each into the ring of the peer that
/// owns its destination, as one record; also writes this side's announcements, heartbeats and bye. It
/// owns every producer, so each ring has one writer. Per packet it makes one read(2) and no other
/// call: records are published once per batch (one release store per ring, and a doorbell only for a
/// peer that sleeps), and nothing is allocated.
/// <para>A full ring is backpressure: the sender waits for room instead of dropping, and while it
/// waits the kernel queues packets in the TUN device. A peer that reads nothing for
/// <see cref="NetTimings.StallLimit"/> is marked stalled, its packets are dropped and the control loop
/// removes its routes, so it cannot hold up the other peers any longer than that.</para>
/// </summary>
internal sealed class TunToRing(NetPlane plane)
{
    /// <summary>Packets read before the records are published and the control records looked at.</summary>
    private const int BatchPackets = 64;

    /// <summary>Published earlier when this much is waiting in one ring: the peer starts on it while
    /// the rest of the batch is read.</summary>
    private const int PublishBytes = 256 * 1024;

    private readonly byte[] _frame = new byte[TunDevice.MaxFrame];
    private readonly List<PeerLink> _dirty = new(RegionLayout.MaxSlots);
    private readonly long _heartbeat = NetPlane.Ticks(NetTimings.HeartbeatInterval);
    private readonly long _silentHeartbeat = NetPlane.Ticks(NetTimings.SilentPeerHeartbeat);
    private readonly long _silence = NetPlane.Ticks(NetTimings.SilentPeerAfter);
    private readonly long _reannounce = NetPlane.Ticks(NetTimings.Reannounce);
    private readonly long _stall = NetPlane.Ticks(NetTimings.StallLimit);
    private readonly long _spin = NetPlane.Ticks(TimeSpan.FromMicroseconds(50));

    public void Run()
    {
        try
        {
            Loop();
            if (!plane.Silent) SayBye();
        }
        catch (Exception e)
        {
            plane.Fail(e);
        }
    }

    private void Loop()
    {
        Span<pollfd> polls = stackalloc pollfd[2];
        while (!plane.SenderStop)
        {
            int timeoutMs = SendControlRecords();
            polls[0].fd = plane.Tun.Fd;
            polls[1].fd = plane.SenderWakeFd;
            Interop.PollIn(polls, timeoutMs);
            if (polls[1].revents != 0) Interop.EventFdDrain(plane.SenderWakeFd);
            if ((polls[0].revents & Interop.POLLIN_) != 0) ReadPackets();
            else if ((polls[0].revents & (Interop.POLLERR_ | Interop.POLLHUP_ | Interop.POLLNVAL_)) != 0)
                throw new IOException($"the TUN device {plane.Tun.Name} failed (poll revents 0x{polls[0].revents:X})");
        }
    }

    /// <summary>Reads until the device is empty, publishing every batch.</summary>
    private void ReadPackets()
    {
        while (!plane.SenderStop)
        {
            Dictionary<UInt128, PeerLink> destinations = plane.Destinations;
            PeerLink? sole = plane.SoleUpLink;
            int count = 0;
            for (; count < BatchPackets; count++)
            {
                int n;
                if (sole is null || (n = ReadIntoRing(sole, destinations)) < 0)
                {
                    n = plane.Tun.Read(_frame);
                    if (n > 0) Dispatch(_frame.AsSpan(0, n), destinations);
                }
                if (n == 0) break;
            }
            PublishDirty();
            Volatile.Write(ref plane.SenderAllocated, GC.GetAllocatedBytesForCurrentThread());
            if (count < BatchPackets) return;
            // Under a steady stream the device is never empty: keep the heartbeats going.
            SendControlRecords();
        }
    }

    /// <summary>
    /// With one peer up, nearly every packet is for it: read straight into a record of its ring, and
    /// save the copy. Returns the packet's length, 0 when the device is empty, or -1 when the ring
    /// has no room for the largest packet now (the copying path then waits for room as it needs).
    /// A packet that turns out to be for no peer or another one is copied out and dispatched.
    /// </summary>
    private int ReadIntoRing(PeerLink link, Dictionary<UInt128, PeerLink> destinations)
    {
        RingProducer? producer = link.Producer;
        if (producer is null || !link.Up || link.Stalled || link.Retired || link.Broken is not null) return -1;
        Span<byte> record;
        try
        {
            if (!producer.TryClaim(Math.Min(TunDevice.MaxFrame, producer.MaxPayload), out record)) return -1;
        }
        catch (RingCorruptedException e)
        {
            Break(link, e);
            return -1;
        }
        int n = plane.Tun.Read(record);
        if (n == 0)
        {
            producer.Abort();
            return 0;
        }
        ReadOnlySpan<byte> frame = record[..n];
        if (IpKey.TryRead(frame[Interop.VirtioNetHdrSize..], out _, out UInt128 destination)
            && destinations.TryGetValue(destination, out PeerLink? owner) && owner == link)
        {
            producer.Commit(n, MessageTypes.NetPacket);
            Sent(link, producer, n);
            return n;
        }
        frame.CopyTo(_frame);
        producer.Abort();
        Dispatch(_frame.AsSpan(0, n), destinations);
        return n;
    }

    private void Dispatch(ReadOnlySpan<byte> frame, Dictionary<UInt128, PeerLink> destinations)
    {
        if (!IpKey.TryRead(frame[Interop.VirtioNetHdrSize..], out _, out UInt128 destination)
            || !destinations.TryGetValue(destination, out PeerLink? link))
        {
            // Not for a peer: a packet the kernel sent before a route went, or its own chatter
            // (router solicitations, multicast listener reports), which the ring never carries.
            plane.Unroutable++;
            return;
        }
        RingProducer? producer = link.Producer;
        if (!link.Up || link.Retired || link.Broken is not null || producer is null) { link.DroppedDown++; return; }
        if (link.Stalled) { link.DroppedStalled++; return; }
        if (frame.Length > producer.MaxPayload) { link.DroppedTooBig++; return; }
        try
        {
            Span<byte> record;
            while (!producer.TryClaim(frame.Length, out record))
            {
                producer.Publish();
                if (!WaitForSpace(link, producer, frame.Length)) { link.DroppedStalled++; return; }
            }
            frame.CopyTo(record);
            producer.Commit(frame.Length, MessageTypes.NetPacket);
            Sent(link, producer, frame.Length);
        }
        catch (RingCorruptedException e)
        {
            Break(link, e);
        }
    }

    /// <summary>Counts a committed packet and publishes when enough waits in the ring.</summary>
    private void Sent(PeerLink link, RingProducer producer, int frameLength)
    {
        link.ToPeerPackets++;
        link.ToPeerBytes += frameLength - Interop.VirtioNetHdrSize;
        if (producer.Position - link.PublishedAt >= PublishBytes) Publish(link);
        else MarkDirty(link);
    }

    /// <summary>The peer broke the ring (an impossible head): this link is done, the others go on.</summary>
    private void Break(PeerLink link, RingCorruptedException e)
    {
        link.Broken ??= e.Message;
        plane.WakeControl();
    }

    /// <summary>
    /// Waits until a record of <paramref name="length"/> fits, as long as the peer keeps reading: the
    /// clock restarts whenever its head moves. False when it read nothing for the stall limit (the link
    /// is marked stalled), or the link or the agent is going away. Heartbeats to the other peers go on
    /// meanwhile.
    /// </summary>
    private bool WaitForSpace(PeerLink link, RingProducer producer, int length)
    {
        IRingWaiter waiter = plane.Endpoint.Interrupts;
        long start = NetPlane.Now;
        long head = producer.ConsumerPosition;
        while (true)
        {
            if (plane.SenderStop || link.Retired) return false;
            SendControlRecords();
            if (plane.WaitMode == WaitMode.BusyPoll || NetPlane.Now - start < _spin)
            {
                Thread.SpinWait(20);
            }
            else
            {
                long token = waiter.Prepare();
                producer.SetWaiting(true);
                if (!producer.HasSpaceFor(length))
                {
                    producer.SleptForSpace();
                    waiter.Wait(token, 10);
                }
                producer.SetWaiting(false);
            }
            if (producer.HasSpaceFor(length)) return true;
            long now = NetPlane.Now;
            if (producer.ConsumerPosition != head)
            {
                head = producer.ConsumerPosition;
                start = now;
            }
            else if (now - start > _stall)
            {
                link.Stalls++;
                link.Stalled = true;
                plane.WakeControl();
                return false;
            }
        }
    }

    /// <summary>
    /// Opens the producer of every new link, and writes what is due: an announcement to a peer that
    /// needs one, a heartbeat to every peer whose net answered (seldom to one that fell silent). Never
    /// waits: a full ring skips the record until the next time. Returns the milliseconds until the next
    /// heartbeat is due.
    /// </summary>
    private int SendControlRecords()
    {
        long now = NetPlane.Now;
        long next = now + _heartbeat;
        Span<byte> heartbeat = stackalloc byte[NetRecords.HeartbeatSize];
        foreach (PeerLink link in plane.Links)
        {
            if (link.Retired || link.Broken is not null) continue;
            try
            {
                next = Math.Min(next, SendControlRecords(link, now, heartbeat));
            }
            catch (RingCorruptedException e)
            {
                Break(link, e);
            }
        }
        return (int)Math.Clamp((next - now) * 1000 / Stopwatch.Frequency + 1, 1, (long)NetTimings.HeartbeatInterval.TotalMilliseconds);
    }

    /// <summary>What is due on one link; returns when its next heartbeat is.</summary>
    private long SendControlRecords(PeerLink link, long now, Span<byte> heartbeat)
    {
        RingProducer producer = link.Producer ??= OpenProducer(link);
        if (link.Stalled && producer.HasSpaceFor(Math.Min(TunDevice.MaxFrame, producer.MaxPayload)))
        {
            link.Stalled = false;
            plane.WakeControl();
        }
        long peerInstance = Volatile.Read(ref link.PeerInstance);
        bool unconfirmed = peerInstance != 0 && !link.SaidBye && Volatile.Read(ref link.PeerHeard) != (long)plane.Instance;
        if (link.AnnounceWanted || (unconfirmed && now - link.LastAnnounced > _reannounce))
        {
            link.AnnounceWanted = false;
            if (producer.TryWrite(plane.Announcement, MessageTypes.NetAnnounce)) link.LastAnnounced = now;
            else link.AnnounceWanted = true;
        }
        if (peerInstance == 0 || link.SaidBye) return long.MaxValue;
        if (now >= link.NextHeartbeat)
        {
            NetRecords.EncodeHeartbeat(heartbeat, plane.Instance, (ulong)Volatile.Read(ref link.AcceptedInstance));
            producer.TryWrite(heartbeat, MessageTypes.NetHeartbeat);
            bool silent = now - Volatile.Read(ref link.LastHeard) > _silence;
            link.NextHeartbeat = now + (silent ? _silentHeartbeat : _heartbeat);
        }
        return link.NextHeartbeat;
    }

    private RingProducer OpenProducer(PeerLink link)
    {
        PeerEntry self = plane.Self, peer = link.Peer;
        link.AnnounceWanted = true;
        return new RingProducer(plane.Endpoint.Region.RingMemory(self.Slot, peer.Slot), RingSession.New(peer.Epoch), link.Doorbell,
            $"ring {self.Slot}->{peer.Slot} ({self.Name} -> {peer.Name})");
    }

    /// <summary>The last word to every peer: remove your routes to me now.</summary>
    private void SayBye()
    {
        Span<byte> bye = stackalloc byte[NetRecords.ByeSize];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bye, plane.Instance);
        foreach (PeerLink link in plane.Links)
        {
            if (link.Retired || link.Producer is not { } producer) continue;
            try { producer.TryWrite(bye, MessageTypes.NetBye); }
            catch (IvshmemException) { /* a broken ring: the peer will notice the silence */ }
        }
    }

    private void MarkDirty(PeerLink link)
    {
        if (link.Dirty) return;
        link.Dirty = true;
        _dirty.Add(link);
    }

    private void PublishDirty()
    {
        foreach (PeerLink link in _dirty) Publish(link);
        _dirty.Clear();
    }

    private static void Publish(PeerLink link)
    {
        link.Dirty = false;
        link.Producer!.Publish();
        link.PublishedAt = link.Producer.Position;
    }
}
