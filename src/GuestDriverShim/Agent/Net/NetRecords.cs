using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ivshmem.Agent.Net;

/// <summary>
/// The ring records of <c>ivshmem-agent net</c>: one record each, on the ring of each direction
/// between two peers that both run <c>net</c>; the record type says which (MessageTypes). All integers
/// little-endian. docs/guest.md, "The records on the ring", says the same in prose.
/// <code>
/// NetAnnounce   magic u32 "IVNT" | version u16 (1) | flags u16 (0) | instance u64 | count u16
///               | reserved u16 (0) | count x { family u8 (4 or 6) | 3 bytes 0 | address 16 B }
///               "I run net as <instance>, and these are my addresses" (IPv4 in the first 4 bytes).
///               Sent when a side starts, when its addresses change, and in answer to an announcement
///               from an instance it has not answered yet. At most 64 addresses.
/// NetHeartbeat  instance u64 | heard u64
///               Every 100 ms while the other side's instance is known. heard: the instance of the
///               other side whose announcement this side accepted (0: none), i.e. "I route to you".
/// NetBye        instance u64
///               The sending side stops: remove the routes to it now.
/// NetPacket     virtio_net_hdr 10 B | IP packet
///               As the TUN device reads it (IFF_VNET_HDR), written unchanged to the other side's TUN
///               device: a TSO super-packet of up to 64 KiB travels as one record.
/// </code>
/// A side routes to the other once it accepted the other's announcement (at least one address
/// passed the checks of <see cref="AddressScreen"/>) and the other's heartbeats say it accepted this
/// side's (heard = this side's instance), and it drops the routes when the other says bye, falls
/// silent for <see cref="NetTimings.SilenceLimit"/>, or leaves the peer table.
/// </summary>
internal static class NetRecords
{
    public const uint Magic = 0x544E5649; // "IVNT" in memory order
    public const ushort Version = 1;
    public const int MaxAddresses = 64;
    public const int AnnounceHeaderSize = 20;
    public const int AddressEntrySize = 20;
    public const int HeartbeatSize = 16;
    public const int ByeSize = 8;

    /// <summary>The announcement of <paramref name="instance"/> with <paramref name="addresses"/> (at most
    /// <see cref="MaxAddresses"/>).</summary>
    public static byte[] EncodeAnnounce(ulong instance, IReadOnlyList<IPAddress> addresses)
    {
        if (addresses.Count > MaxAddresses) throw new ArgumentException($"at most {MaxAddresses} addresses are announced", nameof(addresses));
        byte[] record = new byte[AnnounceHeaderSize + AddressEntrySize * addresses.Count];
        Span<byte> s = record;
        BinaryPrimitives.WriteUInt32LittleEndian(s, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], instance);
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], (ushort)addresses.Count);
        for (int i = 0; i < addresses.Count; i++)
        {
            Span<byte> entry = s.Slice(AnnounceHeaderSize + i * AddressEntrySize, AddressEntrySize);
            entry[0] = addresses[i].AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6;
            addresses[i].TryWriteBytes(entry[4..], out _);
        }
        return record;
    }

    /// <summary>Reads an announcement; on anything malformed returns false and says what.</summary>
    public static bool TryDecodeAnnounce(ReadOnlySpan<byte> record, out ulong instance, out List<IPAddress> addresses, out string? error)
    {
        instance = 0;
        addresses = [];
        if (record.Length < AnnounceHeaderSize)
            return Fail($"an announcement of {record.Length} bytes is shorter than its {AnnounceHeaderSize}-byte header", out error);
        if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Magic)
            return Fail($"an announcement with magic 0x{BinaryPrimitives.ReadUInt32LittleEndian(record):X8}, not 'IVNT'", out error);
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(record[4..]);
        if (version != Version)
            return Fail($"it speaks version {version} of net's records; this side speaks {Version}", out error);
        instance = BinaryPrimitives.ReadUInt64LittleEndian(record[8..]);
        if (instance == 0) return Fail("an announcement of instance 0", out error);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(record[16..]);
        if (count > MaxAddresses)
            return Fail($"it announced {count} addresses; at most {MaxAddresses} are accepted", out error);
        if (record.Length != AnnounceHeaderSize + count * AddressEntrySize)
            return Fail($"an announcement of {count} addresses must be {AnnounceHeaderSize + count * AddressEntrySize} bytes, not {record.Length}", out error);
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> entry = record.Slice(AnnounceHeaderSize + i * AddressEntrySize, AddressEntrySize);
            switch (entry[0])
            {
                case 4: addresses.Add(new IPAddress(entry.Slice(4, 4))); break;
                case 6: addresses.Add(new IPAddress(entry.Slice(4, 16))); break;
                default: return Fail($"address {i} of the announcement has family {entry[0]}, not 4 or 6", out error);
            }
        }
        error = null;
        return true;
    }

    public static void EncodeHeartbeat(Span<byte> record, ulong instance, ulong heard)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(record, instance);
        BinaryPrimitives.WriteUInt64LittleEndian(record[8..], heard);
    }

    public static bool TryDecodeHeartbeat(ReadOnlySpan<byte> record, out ulong instance, out ulong heard)
    {
        instance = heard = 0;
        if (record.Length != HeartbeatSize) return false;
        instance = BinaryPrimitives.ReadUInt64LittleEndian(record);
        heard = BinaryPrimitives.ReadUInt64LittleEndian(record[8..]);
        return true;
    }

    public static bool TryDecodeBye(ReadOnlySpan<byte> record, out ulong instance)
    {
        instance = record.Length == ByeSize ? BinaryPrimitives.ReadUInt64LittleEndian(record) : 0;
        return record.Length == ByeSize;
    }

    private static bool Fail(string message, out string? error)
    {
        error = message;
        return false;
    }
}
