using System.Text;

namespace Ivshmem.Ring;

/// <summary>What occupies a slot of the peer table.</summary>
public enum PeerState
{
    Free = 0,
    Present = 1,
    Gone = 2,
}

/// <summary>What kind of peer holds a slot.</summary>
public enum PeerKind
{
    Unknown = 0,
    VirtualMachine = 1,
    HostProcess = 2,
}

/// <summary>A consistent snapshot of one peer table entry.</summary>
/// <param name="Epoch">Increments every time a new peer takes the slot (1 for the first); a channel
/// is bound to the epochs of both ends, so a newcomer in the same slot never receives old data.</param>
public readonly record struct PeerEntry(int Slot, PeerState State, uint Epoch, int PeerId, PeerKind Kind, string Name, DateTimeOffset Since)
{
    public bool IsPresent => State == PeerState.Present;
}

/// <summary>
/// The peer table in the region header: which peer (ivshmem id, VM or host process name) holds each
/// slot. The daemon writes it; guests and host peers read it to find each other by name.
/// <code>
/// Entry (128 B at 256 + 128 * slot):
///   +0   u32 sequence: odd while the writer updates the entry (a seqlock)
///   +4   u32 state (0 free, 1 present, 2 gone)
///   +8   u32 epoch: +1 each time a new peer takes the slot
///   +12  u32 peer id (the ivshmem id: IVPosition in a guest, the doorbell target)
///   +16  u32 kind (0 unknown, 1 VM, 2 host process)
///   +20  u32 name length (0..64)
///   +24  u64 since: unix time in ms of the last state change
///   +32  name, 64 B UTF-8
///   +96  32 B reserved
/// </code>
/// Readers copy the entry between two reads of an even, unchanged sequence, and check every field:
/// the writer is trusted by nobody, since any peer can scribble over shared memory.
/// </summary>
public sealed class PeerTable
{
    public const int MaxNameBytes = 64;

    private const int SequenceOffset = 0;
    private const int StateOffset = 4;
    private const int EpochOffset = 8;
    private const int PeerIdOffset = 12;
    private const int KindOffset = 16;
    private const int NameLengthOffset = 20;
    private const int SinceOffset = 24;
    private const int NameOffset = 32;

    /// <summary>A reader that never sees a stable entry gives up after this many tries: a peer that
    /// keeps the sequence odd must not hang anyone.</summary>
    private const int MaxReadAttempts = 10_000;

    private readonly SharedMemory _memory;
    private readonly RegionGeometry _geometry;
    // The writer's own record of each slot's epoch: shared memory may have been scribbled on, and the
    // writer must never let a peer choose (or wind back) the epoch a newcomer gets.
    private readonly uint[] _writtenEpochs;

    internal PeerTable(SharedMemory regionMemory, RegionGeometry geometry)
    {
        _memory = regionMemory;
        _geometry = geometry;
        _writtenEpochs = new uint[geometry.Slots];
    }

    public int Slots => _geometry.Slots;

    /// <summary>Bumped by the writer on every change to any entry: a cheap "has anything changed".</summary>
    public long Generation => _memory.ReadInt64Acquire(RegionLayout.PeerTableGenerationOffset);

    public PeerEntry Read(int slot)
    {
        long e = _geometry.PeerEntryIndex(slot);
        Span<byte> name = stackalloc byte[MaxNameBytes];
        for (int attempt = 0; attempt < MaxReadAttempts; attempt++)
        {
            int seq1 = _memory.ReadInt32Acquire(e + SequenceOffset);
            if ((seq1 & 1) != 0) { Thread.SpinWait(20); continue; }
            int state = _memory.ReadInt32(e + StateOffset);
            uint epoch = (uint)_memory.ReadInt32(e + EpochOffset);
            int peerId = _memory.ReadInt32(e + PeerIdOffset);
            int kind = _memory.ReadInt32(e + KindOffset);
            int nameLength = _memory.ReadInt32(e + NameLengthOffset);
            long since = _memory.ReadInt64(e + SinceOffset);
            _memory.Span(e + NameOffset, MaxNameBytes).CopyTo(name);
            SharedMemory.LoadFence(); // the loads above stay before the second sequence read
            int seq2 = _memory.ReadInt32Acquire(e + SequenceOffset);
            if (seq1 != seq2) continue;
            return Validate(slot, state, epoch, peerId, kind, nameLength, since, name);
        }
        throw new RegionFormatException($"peer table slot {slot}: the entry never became stable (its writer keeps it locked)");
    }

    /// <summary>
    /// True when <paramref name="slot"/> holds a present peer of <paramref name="epoch"/>, read under the
    /// seqlock like <see cref="Read"/> but without decoding the name: a waiting channel asks this on
    /// every peer check and after every wake-up that found nothing to do, so it must not allocate.
    /// False also when the entry never becomes stable; <see cref="Read"/> then says why.
    /// </summary>
    public bool IsPresentWithEpoch(int slot, uint epoch)
    {
        long e = _geometry.PeerEntryIndex(slot);
        for (int attempt = 0; attempt < MaxReadAttempts; attempt++)
        {
            int seq1 = _memory.ReadInt32Acquire(e + SequenceOffset);
            if ((seq1 & 1) != 0) { Thread.SpinWait(20); continue; }
            int state = _memory.ReadInt32(e + StateOffset);
            uint current = (uint)_memory.ReadInt32(e + EpochOffset);
            SharedMemory.LoadFence(); // as in Read
            if (_memory.ReadInt32Acquire(e + SequenceOffset) != seq1) continue;
            return state == (int)PeerState.Present && current == epoch;
        }
        return false;
    }

    /// <summary>
    /// Finds the present peer called <paramref name="name"/>. Any peer can write the table, so a name
    /// that two present entries claim is refused (<see cref="RegionFormatException"/>) rather than
    /// given to whichever comes first: that is one peer passing itself off as another. An entry that
    /// cannot be read is skipped, so it hides only its own peer (docs/ring.md, "One region, one trust
    /// domain").
    /// </summary>
    public PeerEntry? FindByName(string name)
    {
        if (name.Length == 0) return null; // an unnamed peer is found by its id, never by ""
        PeerEntry? found = null;
        for (int s = 0; s < Slots; s++)
        {
            if (!TryRead(s, out PeerEntry entry) || !entry.IsPresent || entry.Name != name) continue;
            if (found is { } first)
                throw new RegionFormatException($"two present peers claim the name '{name}' (slots {first.Slot} and {s}): one of them rewrote its peer table entry; the region is one trust domain");
            found = entry;
        }
        return found;
    }

    /// <summary>Finds the present peer with the given ivshmem id; as <see cref="FindByName"/>, an
    /// id that two present entries claim is refused and an unreadable entry is skipped.</summary>
    public PeerEntry? FindById(int peerId)
    {
        PeerEntry? found = null;
        for (int s = 0; s < Slots; s++)
        {
            if (!TryRead(s, out PeerEntry entry) || !entry.IsPresent || entry.PeerId != peerId) continue;
            if (found is { } first)
                throw new RegionFormatException($"two present peers claim id {peerId} (slots {first.Slot} and {s}): one of them rewrote its peer table entry; the region is one trust domain");
            found = entry;
        }
        return found;
    }

    /// <summary><see cref="Read"/>, but false for an entry that is invalid or never stable.</summary>
    private bool TryRead(int slot, out PeerEntry entry)
    {
        try
        {
            entry = Read(slot);
            return true;
        }
        catch (RegionFormatException)
        {
            entry = default;
            return false;
        }
    }

    /// <summary>The present peers whose entries can be read; an unreadable entry is left out, as
    /// <see cref="FindByName"/> leaves it out (for messages that list who is there).</summary>
    public IReadOnlyList<PeerEntry> ReadPresent()
    {
        var present = new List<PeerEntry>(Slots);
        for (int s = 0; s < Slots; s++)
            if (TryRead(s, out PeerEntry entry) && entry.IsPresent) present.Add(entry);
        return present;
    }

    public IReadOnlyList<PeerEntry> ReadAll()
    {
        var entries = new PeerEntry[Slots];
        for (int s = 0; s < Slots; s++) entries[s] = Read(s);
        return entries;
    }

    /// <summary>
    /// Puts a new peer into <paramref name="slot"/> with the next epoch of this writer's own count.
    /// Only the region's owner (the daemon, or a test that formatted the region itself) calls this,
    /// and only from one thread. The epoch in shared memory is never read back: a peer that wrote
    /// 0xFFFFFFFF there must not make the next epoch wrap to one a channel is still bound to.
    /// </summary>
    public PeerEntry Join(int slot, int peerId, PeerKind kind, string name)
    {
        uint epoch = _writtenEpochs[CheckSlot(slot)] + 1;
        if (epoch == 0) epoch = 1;
        return Join(slot, peerId, kind, name, epoch);
    }

    /// <summary>
    /// Puts a new peer into <paramref name="slot"/> with <paramref name="epoch"/>, which the writer
    /// keeps in its own (private) state: the daemon keeps each slot's epoch in its ledger, so that it
    /// survives a restart without ever being read back from the region.
    /// </summary>
    public PeerEntry Join(int slot, int peerId, PeerKind kind, string name, uint epoch) => Join(slot, peerId, kind, name, epoch, DateTimeOffset.UtcNow);

    /// <summary>As <see cref="Join(int, int, PeerKind, string, uint)"/>, with the time it joined as the
    /// writer recorded it.</summary>
    public PeerEntry Join(int slot, int peerId, PeerKind kind, string name, uint epoch, DateTimeOffset since)
    {
        if ((uint)peerId > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(peerId), $"peer id {peerId} is outside 0..65535");
        if (epoch == 0) throw new ArgumentOutOfRangeException(nameof(epoch), "epoch 0 means \"never taken\"; the first epoch is 1");
        byte[] nameBytes = EncodeName(name);
        long ms = WriteEntry(slot, PeerState.Present, epoch, peerId, kind, nameBytes, since.ToUnixTimeMilliseconds());
        // Built from what was written, not read back: a peer scribbling concurrently must not be
        // able to make the writer fail.
        return new PeerEntry(slot, PeerState.Present, epoch, peerId, kind, name, DateTimeOffset.FromUnixTimeMilliseconds(ms));
    }

    /// <summary>
    /// Rewrites the whole entry of <paramref name="slot"/> from the writer's own state (the daemon's
    /// ledger), whatever shared memory holds now: on resume after a restart, and when a peer leaves.
    /// A free slot is written as all zeros but for its epoch.
    /// </summary>
    public void Rewrite(int slot, PeerState state, uint epoch, int peerId, PeerKind kind, string name, DateTimeOffset since)
    {
        long ms = since.ToUnixTimeMilliseconds();
        if (state == PeerState.Free) WriteEntry(slot, PeerState.Free, epoch, 0, PeerKind.Unknown, [], 0);
        else
        {
            if ((uint)peerId > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(peerId), $"peer id {peerId} is outside 0..65535");
            WriteEntry(slot, state, epoch, peerId, kind, EncodeName(name), ms);
        }
    }

    /// <summary>Marks the peer in <paramref name="slot"/> as gone; its epoch stays (the writer's own
    /// record of it where it has one), so channels bound to it fail with <see cref="PeerGoneException"/>.</summary>
    public void Leave(int slot)
    {
        long e = _geometry.PeerEntryIndex(slot);
        uint epoch = _writtenEpochs[slot];
        Write(e, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), () =>
        {
            _memory.WriteInt32(e + StateOffset, (int)PeerState.Gone);
            if (epoch != 0) _memory.WriteInt32(e + EpochOffset, (int)epoch);
        });
    }

    private long WriteEntry(int slot, PeerState state, uint epoch, int peerId, PeerKind kind, byte[] nameBytes, long sinceMs)
    {
        long e = _geometry.PeerEntryIndex(slot);
        _writtenEpochs[slot] = epoch;
        return Write(e, sinceMs, () =>
        {
            _memory.WriteInt32(e + StateOffset, (int)state);
            _memory.WriteInt32(e + EpochOffset, (int)epoch);
            _memory.WriteInt32(e + PeerIdOffset, peerId);
            _memory.WriteInt32(e + KindOffset, (int)kind);
            _memory.WriteInt32(e + NameLengthOffset, nameBytes.Length);
            _memory.Span(e + NameOffset, MaxNameBytes).Clear();
            nameBytes.CopyTo(_memory.Span(e + NameOffset, MaxNameBytes));
            _memory.Span(e + NameOffset + MaxNameBytes, RegionLayout.PeerEntrySize - NameOffset - MaxNameBytes).Clear();
        });
    }

    private int CheckSlot(int slot)
    {
        _geometry.PeerEntryIndex(slot); // throws for a slot that does not exist
        return slot;
    }

    /// <summary>Updates an entry under the seqlock; returns the time stamp written.</summary>
    private long Write(long entryIndex, long since, Action update)
    {
        int seq = _memory.ReadInt32(entryIndex + SequenceOffset);
        if ((seq & 1) != 0) seq++; // a previous writer died mid-update, or someone scribbled: re-open
        _memory.WriteInt32Release(entryIndex + SequenceOffset, seq + 1);
        SharedMemory.StoreFence(); // the odd sequence is visible before any field changes
        update();
        _memory.WriteInt64(entryIndex + SinceOffset, since);
        _memory.WriteInt32Release(entryIndex + SequenceOffset, seq + 2);
        long generation = _memory.ReadInt64(RegionLayout.PeerTableGenerationOffset);
        _memory.WriteInt64Release(RegionLayout.PeerTableGenerationOffset, generation + 1);
        return since;
    }

    private static byte[] EncodeName(string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length > MaxNameBytes)
            throw new ArgumentException($"peer name '{name}' is {bytes.Length} bytes of UTF-8; at most {MaxNameBytes} fit in the peer table", nameof(name));
        return bytes;
    }

    private static PeerEntry Validate(int slot, int state, uint epoch, int peerId, int kind, int nameLength, long since, ReadOnlySpan<byte> name)
    {
        string where = $"peer table slot {slot}";
        if (state is < 0 or > (int)PeerState.Gone) throw new RegionFormatException($"{where}: state {state} is not 0 (free), 1 (present) or 2 (gone)");
        if (state == (int)PeerState.Free)
            return new PeerEntry(slot, PeerState.Free, epoch, -1, PeerKind.Unknown, "", DateTimeOffset.UnixEpoch);
        if ((uint)peerId > 0xFFFF) throw new RegionFormatException($"{where}: peer id {peerId} is outside 0..65535");
        if (kind is < 0 or > (int)PeerKind.HostProcess) throw new RegionFormatException($"{where}: peer kind {kind} is unknown");
        if ((uint)nameLength > MaxNameBytes) throw new RegionFormatException($"{where}: name length {nameLength} exceeds {MaxNameBytes}");
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(name[..nameLength]); }
        catch (DecoderFallbackException) { throw new RegionFormatException($"{where}: the name is not valid UTF-8"); }
        DateTimeOffset sinceTime = since is >= 0 and <= 253402300799999 ? DateTimeOffset.FromUnixTimeMilliseconds(since) : DateTimeOffset.UnixEpoch;
        return new PeerEntry(slot, (PeerState)state, epoch, peerId, (PeerKind)kind, text, sinceTime);
    }
}
