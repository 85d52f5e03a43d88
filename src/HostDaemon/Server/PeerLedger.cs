using System.Text;
using Ivshmem.Ring;
using Microsoft.Win32.SafeHandles;

namespace Ivshmem.Daemon.Server;

/// <summary>
/// What the daemon has told each peer of one region, kept in a private memfd (never shared with
/// peers) that waits in systemd's fd store with the region's memory. A restarted daemon reads it to
/// carry on exactly where the previous instance stopped: the same peer ids continue, and every
/// connection that came back from the store is resumed message for message (docs/protocol.md,
/// "Daemon restart"). Without an fd store it is simply the daemon's own bookkeeping.
/// <code>
/// Header (4096 B), little-endian:
///   0  u64 magic "IVSDLDG1"        8  u32 version (1)      12 u32 slots      16 u32 vectors
///  24  u64 region format id        32  u64 region size     40  u64 next peer id
///  48  u64 next join serial         56 u32 epochs kept (1; 0 in a ledger of an older daemon)
/// Record of slot s at 4096 + 1024 * s:
///   0  u32 flags: 1 present, 2 orphaned (cannot be told anything more), 4 send in flight
///   4  u32 peer id       8  i32 pid       12 u32 uid      16 u32 kind (PeerKind)
///  20  u32 handshake header messages delivered (0..3: version, id, memory)
///  24  u64 join serial  32  i64 since (unix ms)           40 u32 name length, 44 name (64 B UTF-8)
/// 108  u32 epoch: the last epoch this slot was given (0: never taken); kept when the peer leaves
/// 512  64 entries "what this peer knows about the peer in slot t", 8 B each:
///        u32 subject id + 1 (0: nothing), u32 eventfds of that subject delivered (0..vectors)
/// </code>
/// The "send in flight" flag is set before every sendmsg and cleared after the entry is updated: if
/// the daemon dies between the two, the restarted daemon cannot know whether the message arrived, so
/// it leaves that one connection alone instead of risking a duplicate (which QEMU would take for the
/// next vector, or a second disconnect, which corrupts its heap).
/// <para>This, not the region, is the daemon's state: format id, size, slots, ids, epochs and slot
/// ownership are never read back from the region, which any peer can write (docs/ring.md, "One
/// region, one trust domain"). On resume the daemon rewrites the region's header and peer table
/// from it.</para>
/// </summary>
internal sealed class PeerLedger : IDisposable
{
    public const ulong Magic = 0x31474C4444535649; // "IVSDLDG1"
    public const int Version = 1;
    private const int HeaderSize = 4096;
    private const int RecordSize = 1024;
    private const int KnowledgeOffset = 512;

    private const int MagicOffset = 0;
    private const int VersionOffset = 8;
    private const int SlotsOffset = 12;
    private const int VectorsOffset = 16;
    private const int FormatIdOffset = 24;
    private const int RegionSizeOffset = 32;
    private const int NextPeerIdOffset = 40;
    private const int NextJoinSerialOffset = 48;
    private const int EpochsKeptOffset = 56;

    private const int FlagsOffset = 0;
    private const int PeerIdOffset = 4;
    private const int PidOffset = 8;
    private const int UidOffset = 12;
    private const int KindOffset = 16;
    private const int HeaderSentOffset = 20;
    private const int JoinSerialOffset = 24;
    private const int SinceOffset = 32;
    private const int NameLengthOffset = 40;
    private const int NameOffset = 44;
    private const int EpochOffset = NameOffset + PeerTable.MaxNameBytes; // 108

    public const int FlagPresent = 1;
    public const int FlagOrphaned = 2;
    public const int FlagInFlight = 4;

    private readonly SafeFileHandle _fd;
    private readonly MappedMemory _mapping;
    private readonly SharedMemory _memory;

    private PeerLedger(SafeFileHandle fd, MappedMemory mapping, int slots, int vectors)
    {
        _fd = fd;
        _mapping = mapping;
        _memory = mapping.Memory;
        Slots = slots;
        Vectors = vectors;
    }

    public int Slots { get; }
    public int Vectors { get; }

    /// <summary>The memfd, for the fd store.</summary>
    public SafeFileHandle Handle => _fd;

    public static long SizeFor(int slots) => HeaderSize + (long)RecordSize * slots;

    /// <summary>A fresh, empty ledger for a region just formatted.</summary>
    public static PeerLedger Create(string regionName, int slots, int vectors, Region region)
    {
        SafeFileHandle fd = Memfd.Create($"ivshmemd-ledger-{regionName}", SizeFor(slots));
        try
        {
            var ledger = new PeerLedger(fd, MappedMemory.MapFile((int)fd.DangerousGetHandle()), slots, vectors);
            SharedMemory m = ledger._memory;
            m.WriteInt32(VersionOffset, Version);
            m.WriteInt32(SlotsOffset, slots);
            m.WriteInt32(VectorsOffset, vectors);
            m.WriteInt64(FormatIdOffset, (long)region.FormatId);
            m.WriteInt64(RegionSizeOffset, region.Geometry.RegionSize);
            m.WriteInt64(NextPeerIdOffset, 0);
            m.WriteInt64(NextJoinSerialOffset, 0);
            m.WriteInt32(EpochsKeptOffset, 1);
            m.WriteInt64Release(MagicOffset, (long)Magic); // last: a ledger with its magic is complete
            return ledger;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes over a ledger that came back from the fd store. Throws <see cref="InvalidDataException"/>
    /// saying what does not match when it does not belong to a region of <paramref name="regionSize"/>
    /// bytes, <paramref name="slots"/> slots and <paramref name="vectors"/> vectors as configured now
    /// (then the caller starts the region afresh). The region's format id comes from here
    /// (<see cref="FormatId"/>), never from the region. Takes ownership of <paramref name="fd"/> only on success.
    /// </summary>
    public static PeerLedger Restore(SafeFileHandle fd, int slots, int vectors, long regionSize)
    {
        long size = Interop.FileStat((int)fd.DangerousGetHandle()).Size;
        if (size != SizeFor(slots))
            throw new InvalidDataException($"the stored ledger is {size} bytes, but {slots} slots need {SizeFor(slots)} (max_peers changed?)");
        var mapping = MappedMemory.MapFile((int)fd.DangerousGetHandle());
        var ledger = new PeerLedger(fd, mapping, slots, vectors);
        try
        {
            SharedMemory m = ledger._memory;
            Expect("magic", (ulong)m.ReadInt64Acquire(MagicOffset), Magic);
            Expect("version", (ulong)m.ReadInt32(VersionOffset), Version);
            Expect("slot count", (ulong)m.ReadInt32(SlotsOffset), (ulong)slots);
            Expect("vector count", (ulong)m.ReadInt32(VectorsOffset), (ulong)vectors);
            if (m.ReadInt64(FormatIdOffset) == 0) throw new InvalidDataException("the stored ledger's region format id is 0");
            Expect("region size", (ulong)m.ReadInt64(RegionSizeOffset), (ulong)regionSize);
            long nextId = m.ReadInt64(NextPeerIdOffset);
            if (nextId is < 0 or > 65536) throw new InvalidDataException($"the stored ledger's next peer id {nextId} is outside 0..65536");
            for (int s = 0; s < slots; s++)
            {
                if (!IsPresent(s, m)) continue;
                int id = ledger.PeerId(s);
                if (id < 0 || id >= nextId) throw new InvalidDataException($"slot {s} holds peer id {id}, which was never handed out (next id {nextId})");
                if ((uint)ledger.HeaderSent(s) > 3) throw new InvalidDataException($"slot {s}: handshake progress {ledger.HeaderSent(s)} is not 0..3");
            }
            return ledger;
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    /// <summary>The format id of the region this ledger belongs to (chosen when it was formatted).</summary>
    public ulong FormatId => (ulong)_memory.ReadInt64(FormatIdOffset);

    /// <summary>False for a ledger an older daemon wrote, which did not keep epochs: the caller takes
    /// them over once (<see cref="SetEpoch"/>) and then calls <see cref="MarkEpochsKept"/>.</summary>
    public bool EpochsKept => _memory.ReadInt32(EpochsKeptOffset) == 1;

    public void MarkEpochsKept() => _memory.WriteInt32Release(EpochsKeptOffset, 1);

    /// <summary>The last epoch <paramref name="slot"/> was given (0: never taken).</summary>
    public uint Epoch(int slot) => (uint)_memory.ReadInt32(Record(slot) + EpochOffset);

    public void SetEpoch(int slot, uint epoch) => _memory.WriteInt32Release(Record(slot) + EpochOffset, (int)epoch);

    /// <summary>The epoch the next peer in <paramref name="slot"/> gets: one more than the last, from
    /// this private count only (after 2^32 - 1 joins of one slot it starts again at 1).</summary>
    public uint NextEpoch(int slot)
    {
        uint next = Epoch(slot) + 1;
        return next == 0 ? 1 : next;
    }

    public long NextPeerId
    {
        get => _memory.ReadInt64(NextPeerIdOffset);
        set => _memory.WriteInt64Release(NextPeerIdOffset, value);
    }

    /// <summary>Hands out the next join serial (the order in which peers were announced).</summary>
    public long TakeJoinSerial()
    {
        long serial = _memory.ReadInt64(NextJoinSerialOffset);
        _memory.WriteInt64Release(NextJoinSerialOffset, serial + 1);
        return serial;
    }

    /// <summary>Records a new peer in <paramref name="slot"/> with <paramref name="epoch"/>, knowing
    /// nothing yet. The present flag is written last, so a record is either complete or absent.</summary>
    public void Admit(int slot, int peerId, int pid, uint uid, PeerKind kind, string name, long joinSerial, DateTimeOffset since, uint epoch)
    {
        long r = Record(slot);
        _memory.WriteInt32Release(r + FlagsOffset, 0);
        _memory.Clear(r + 4, RecordSize - 4);
        _memory.WriteInt32(r + EpochOffset, (int)epoch);
        _memory.WriteInt32(r + PeerIdOffset, peerId);
        _memory.WriteInt32(r + PidOffset, pid);
        _memory.WriteInt32(r + UidOffset, (int)uid);
        _memory.WriteInt32(r + KindOffset, (int)kind);
        _memory.WriteInt64(r + JoinSerialOffset, joinSerial);
        _memory.WriteInt64(r + SinceOffset, since.ToUnixTimeMilliseconds());
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        int length = Math.Min(nameBytes.Length, PeerTable.MaxNameBytes);
        _memory.WriteInt32(r + NameLengthOffset, length);
        nameBytes.AsSpan(0, length).CopyTo(_memory.Span(r + NameOffset, PeerTable.MaxNameBytes));
        _memory.WriteInt32Release(r + FlagsOffset, FlagPresent);
    }

    /// <summary>The peer in <paramref name="slot"/> has gone: no longer present; since becomes the
    /// time it left (what the peer table shows for a gone slot). Id, name and epoch stay.</summary>
    public void Release(int slot, DateTimeOffset when)
    {
        long r = Record(slot);
        _memory.WriteInt32Release(r + FlagsOffset, 0);
        _memory.WriteInt64(r + SinceOffset, when.ToUnixTimeMilliseconds());
    }

    public bool IsPresent(int slot) => IsPresent(slot, _memory);

    public int Flags(int slot) => _memory.ReadInt32(Record(slot) + FlagsOffset);

    public void MarkOrphaned(int slot) => SetFlag(slot, FlagOrphaned, true);

    public bool IsOrphaned(int slot) => (Flags(slot) & FlagOrphaned) != 0;

    /// <summary>Set before a send to <paramref name="slot"/>'s peer, cleared once the ledger shows it.</summary>
    public void SetInFlight(int slot, bool inFlight) => SetFlag(slot, FlagInFlight, inFlight);

    public bool IsInFlight(int slot) => (Flags(slot) & FlagInFlight) != 0;

    public int PeerId(int slot) => _memory.ReadInt32(Record(slot) + PeerIdOffset);
    public int Pid(int slot) => _memory.ReadInt32(Record(slot) + PidOffset);
    public uint Uid(int slot) => (uint)_memory.ReadInt32(Record(slot) + UidOffset);
    public PeerKind Kind(int slot) => (PeerKind)_memory.ReadInt32(Record(slot) + KindOffset);
    public long JoinSerial(int slot) => _memory.ReadInt64(Record(slot) + JoinSerialOffset);

    public DateTimeOffset Since(int slot)
    {
        long ms = _memory.ReadInt64(Record(slot) + SinceOffset);
        return ms is >= 0 and <= 253402300799999 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.UnixEpoch;
    }

    public string Name(int slot)
    {
        long r = Record(slot);
        int length = Math.Clamp(_memory.ReadInt32(r + NameLengthOffset), 0, PeerTable.MaxNameBytes);
        return Encoding.UTF8.GetString(_memory.Span(r + NameOffset, length));
    }

    /// <summary>How many of the three handshake header messages (version, id, memory) were delivered.</summary>
    public int HeaderSent(int slot) => _memory.ReadInt32(Record(slot) + HeaderSentOffset);

    public void SetHeaderSent(int slot, int count) => _memory.WriteInt32Release(Record(slot) + HeaderSentOffset, count);

    /// <summary>The id of the peer in slot <paramref name="subjectSlot"/> that <paramref name="slot"/>'s
    /// peer has been told about, or -1.</summary>
    public int KnownSubject(int slot, int subjectSlot) => _memory.ReadInt32(Entry(slot, subjectSlot)) - 1;

    /// <summary>How many eventfds of that subject were delivered.</summary>
    public int KnownVectors(int slot, int subjectSlot) => _memory.ReadInt32(Entry(slot, subjectSlot) + 4);

    public void SetKnown(int slot, int subjectSlot, int subjectId, int vectors)
    {
        long e = Entry(slot, subjectSlot);
        _memory.WriteInt32(e + 4, vectors);
        _memory.WriteInt32Release(e, subjectId + 1);
    }

    public void Forget(int slot, int subjectSlot)
    {
        long e = Entry(slot, subjectSlot);
        _memory.WriteInt32(e + 4, 0);
        _memory.WriteInt32Release(e, 0);
    }

    public void Dispose()
    {
        _mapping.Dispose();
        _fd.Dispose();
    }

    private static bool IsPresent(int slot, SharedMemory m) => (m.ReadInt32(HeaderSize + (long)RecordSize * slot + FlagsOffset) & FlagPresent) != 0;

    private void SetFlag(int slot, int flag, bool on)
    {
        long r = Record(slot);
        int flags = _memory.ReadInt32(r + FlagsOffset);
        _memory.WriteInt32Release(r + FlagsOffset, on ? flags | flag : flags & ~flag);
    }

    private long Record(int slot)
    {
        if ((uint)slot >= (uint)Slots) throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} is outside 0..{Slots - 1}");
        return HeaderSize + (long)RecordSize * slot;
    }

    private long Entry(int slot, int subjectSlot)
    {
        if ((uint)subjectSlot >= (uint)Slots) throw new ArgumentOutOfRangeException(nameof(subjectSlot), $"slot {subjectSlot} is outside 0..{Slots - 1}");
        return Record(slot) + KnowledgeOffset + 8L * subjectSlot;
    }

    private static void Expect(string what, ulong actual, ulong expected)
    {
        if (actual != expected)
            throw new InvalidDataException($"the stored ledger's {what} is {actual}, expected {expected}");
    }
}
