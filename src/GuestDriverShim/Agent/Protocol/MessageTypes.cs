using Ivshmem.Ring;

namespace Ivshmem.Agent.Protocol;

/// <summary>
/// The agent's messages: one ring record each (the record type says which), or one frame on a TCP
/// link. All integers little-endian.
/// <code>
/// Hello    magic u32 "IVAG" | version u16 | operation u16 | conversation u64 | size i64 (-1 unknown)
///          | parameter i64 | name length u16 | name UTF-8          (opens a conversation)
/// Accept   conversation u64                                       (the server takes it)
/// Data     bytes                                                  (a piece of a transfer or bench)
/// End      conversation u64 | total i64 | xxh128 16 B             (the sender's last word)
/// Ack      conversation u64 | status u32 | received i64 | xxh128 16 B | message UTF-8
/// Abort    conversation u64 | message UTF-8                       (the sender gives up, says why)
/// Bye      conversation u64                                       (the client is done)
/// Ping     sequence u64 | padding                                 (echoed as Pong, byte for byte)
/// BenchResult  bytes i64 | nanoseconds i64                        (what the receiving side measured)
/// BenchPull    bytes i64 | chunk i64                              (client asks the server to send)
/// FwdOpen  connection u32 | FwdData connection u32 + bytes | FwdEof connection u32
/// FwdCredit connection u32 | bytes i32 | FwdReset connection u32 | message UTF-8
/// NetAnnounce, NetHeartbeat, NetBye, NetPacket: 'net' (addresses, liveness, IP packets); their
///          layout is in Net/NetRecords.cs
/// </code>
/// A conversation id is random per client run: replies carry it, so a client never mistakes what was
/// left in a ring by an earlier run for an answer to its own request.
/// </summary>
internal static class MessageTypes
{
    public const int Hello = RecordTypes.FirstApplicationType + 0;
    public const int Accept = RecordTypes.FirstApplicationType + 1;
    public const int Data = RecordTypes.FirstApplicationType + 2;
    public const int End = RecordTypes.FirstApplicationType + 3;
    public const int Ack = RecordTypes.FirstApplicationType + 4;
    public const int Abort = RecordTypes.FirstApplicationType + 5;
    public const int Bye = RecordTypes.FirstApplicationType + 6;
    public const int Ping = RecordTypes.FirstApplicationType + 7;
    public const int Pong = RecordTypes.FirstApplicationType + 8;
    public const int BenchResult = RecordTypes.FirstApplicationType + 9;
    public const int BenchPull = RecordTypes.FirstApplicationType + 10;
    public const int FwdOpen = RecordTypes.FirstApplicationType + 16;
    public const int FwdData = RecordTypes.FirstApplicationType + 17;
    public const int FwdEof = RecordTypes.FirstApplicationType + 18;
    public const int FwdCredit = RecordTypes.FirstApplicationType + 19;
    public const int FwdReset = RecordTypes.FirstApplicationType + 20;
    public const int NetAnnounce = RecordTypes.FirstApplicationType + 32;
    public const int NetHeartbeat = RecordTypes.FirstApplicationType + 33;
    public const int NetBye = RecordTypes.FirstApplicationType + 34;
    public const int NetPacket = RecordTypes.FirstApplicationType + 35;

    public static string Name(int type) => type switch
    {
        Hello => "Hello", Accept => "Accept", Data => "Data", End => "End", Ack => "Ack", Abort => "Abort",
        Bye => "Bye", Ping => "Ping", Pong => "Pong", BenchResult => "BenchResult", BenchPull => "BenchPull",
        FwdOpen => "FwdOpen", FwdData => "FwdData", FwdEof => "FwdEof", FwdCredit => "FwdCredit", FwdReset => "FwdReset",
        NetAnnounce => "NetAnnounce", NetHeartbeat => "NetHeartbeat", NetBye => "NetBye", NetPacket => "NetPacket",
        _ => $"type {type}",
    };
}

/// <summary>What a Hello asks for.</summary>
internal enum Operation : ushort
{
    Transfer = 1,
    Ping = 2,
    Bench = 3,
    Forward = 4,
}

/// <summary>Ack status.</summary>
internal enum AckStatus : uint
{
    Verified = 0,
    ChecksumMismatch = 1,
    Failed = 2,
}
