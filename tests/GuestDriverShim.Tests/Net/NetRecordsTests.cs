using System.Buffers.Binary;
using System.Net;
using Ivshmem.Agent.Net;
using Ivshmem.Peer.Tests.Agent;

namespace Ivshmem.Peer.Tests.Net;

/// <summary>net's ring records, its address checks and its packet parsing, without a machine to
/// change: what goes in comes out, and what is wrong is refused with a reason.</summary>
public sealed class NetRecordsTests
{
    [Fact]
    public void AnAnnouncementCarriesItsInstanceAndAddressesOfBothFamilies()
    {
        IPAddress[] addresses = [IPAddress.Parse("10.1.2.3"), IPAddress.Parse("fd00::17"), IPAddress.Parse("192.168.0.1")];
        byte[] record = NetRecords.EncodeAnnounce(0x1234567890, addresses);
        Assert.Equal(NetRecords.AnnounceHeaderSize + 3 * NetRecords.AddressEntrySize, record.Length);
        Assert.True(NetRecords.TryDecodeAnnounce(record, out ulong instance, out List<IPAddress> decoded, out string? error), error);
        Assert.Equal(0x1234567890UL, instance);
        Assert.Equal(addresses, decoded);
    }

    [Theory]
    [InlineData("magic", "not 'IVNT'")]
    [InlineData("version", "version 7")]
    [InlineData("instance", "instance 0")]
    [InlineData("count", "it announced 65 addresses; at most 64 are accepted")]
    [InlineData("length", "must be 40 bytes, not 44")]
    [InlineData("family", "has family 5, not 4 or 6")]
    [InlineData("short", "shorter than its 20-byte header")]
    public void AMalformedAnnouncementIsRefusedWithWhatIsWrong(string flaw, string expected)
    {
        byte[] record = NetRecords.EncodeAnnounce(42, [IPAddress.Parse("10.0.0.2")]);
        switch (flaw)
        {
            case "magic": record[3] = 0; break;
            case "version": BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(4), 7); break;
            case "instance": BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(8), 0); break;
            case "count": BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(16), 65); break;
            case "length": record = [.. record, 0, 0, 0, 0]; break;
            case "family": record[NetRecords.AnnounceHeaderSize] = 5; break;
            case "short": record = record[..19]; break;
        }
        Assert.False(NetRecords.TryDecodeAnnounce(record, out _, out List<IPAddress> addresses, out string? error));
        Assert.Empty(addresses);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void MoreThanSixtyFourAddressesAreNotAnnounced() =>
        Assert.Throws<ArgumentException>(() => NetRecords.EncodeAnnounce(1, [.. Enumerable.Range(1, 65).Select(i => new IPAddress(i))]));

    [Fact]
    public void HeartbeatsAndByesHaveOneSizeOnly()
    {
        Span<byte> heartbeat = stackalloc byte[NetRecords.HeartbeatSize];
        NetRecords.EncodeHeartbeat(heartbeat, 7, 9);
        Assert.True(NetRecords.TryDecodeHeartbeat(heartbeat, out ulong instance, out ulong heard));
        Assert.Equal((7UL, 9UL), (instance, heard));
        Assert.False(NetRecords.TryDecodeHeartbeat(heartbeat[..15], out _, out _));
        Assert.False(NetRecords.TryDecodeBye(heartbeat, out _));
        Assert.True(NetRecords.TryDecodeBye(heartbeat[..8], out ulong leaving));
        Assert.Equal(7UL, leaving);
    }

    [Theory]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("0.1.2.3", "unspecified")]
    [InlineData("127.0.0.2", "loopback")]
    [InlineData("224.0.0.251", "multicast")]
    [InlineData("239.255.255.250", "multicast")]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("240.0.0.1", "reserved")]
    [InlineData("169.254.1.1", "link-local")]
    [InlineData("::", "unspecified")]
    [InlineData("::1", "loopback")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("::ffff:10.0.0.1", "IPv4-mapped")]
    public void AddressesThatCanNeverBeAPeersAreRefused(string address, string reason) =>
        Assert.Contains(reason, AddressScreen.Refusal(IPAddress.Parse(address)));

    [Theory]
    [InlineData("10.0.0.2")]
    [InlineData("192.168.122.5")]
    [InlineData("100.64.0.1")]
    [InlineData("fd00::2")]
    [InlineData("2001:db8::1")]
    public void OrdinaryAddressesPass(string address) => Assert.Null(AddressScreen.Refusal(IPAddress.Parse(address)));

    [Fact]
    public void PacketsAreReadForTheirAddressesWithoutAllocating()
    {
        byte[] v4 = new byte[20];
        v4[0] = 0x45;
        IPAddress.Parse("10.0.0.1").TryWriteBytes(v4.AsSpan(12), out _);
        IPAddress.Parse("10.0.0.2").TryWriteBytes(v4.AsSpan(16), out _);
        Assert.True(IpKey.TryRead(v4, out UInt128 source, out UInt128 destination));
        Assert.Equal(IpKey.Of(IPAddress.Parse("10.0.0.1")), source);
        Assert.Equal(IpKey.Of(IPAddress.Parse("10.0.0.2")), destination);

        byte[] v6 = new byte[40];
        v6[0] = 0x60;
        IPAddress.Parse("fd00::1").TryWriteBytes(v6.AsSpan(8), out _);
        IPAddress.Parse("fd00::2").TryWriteBytes(v6.AsSpan(24), out _);
        Assert.True(IpKey.TryRead(v6, out source, out destination));
        Assert.Equal(IpKey.Of(IPAddress.Parse("fd00::1")), source);
        Assert.Equal(IpKey.Of(IPAddress.Parse("fd00::2")), destination);
        // The IPv4 key is the IPv4-mapped IPv6 address, which no peer may announce.
        Assert.Equal(IpKey.Of(IPAddress.Parse("::ffff:10.0.0.2")), IpKey.Of(IPAddress.Parse("10.0.0.2")));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) IpKey.TryRead(i % 2 == 0 ? v4 : v6, out _, out _);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());

        Assert.False(IpKey.TryRead(v4.AsSpan(0, 19), out _, out _));
        Assert.False(IpKey.TryRead(v6.AsSpan(0, 39), out _, out _));
        Assert.False(IpKey.TryRead(new byte[40], out _, out _));
    }

    [Theory]
    [InlineData("--mtu 1279 is not 1280..65535", "net", "--mtu", "1279")]
    [InlineData("--mtu 65536 is not 1280..65535", "net", "--mtu", "65536")]
    [InlineData("is not a device name", "net", "--tun", "a-name-far-too-long")]
    [InlineData("'10.0.0.0/24' is not an IPv4 or IPv6 address", "net", "--address", "10.0.0.0/24")]
    [InlineData("'eth0' is not an IPv4 or IPv6 address", "net", "--address", "eth0")]
    public void NetUsageErrorsSayWhatIsWrong(string expected, params string[] args)
    {
        var (code, output, error) = CommandLineTests.Run(args);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void NetStatusHasItsOwnManualPage()
    {
        var (code, output, _) = CommandLineTests.Run("net", "status", "--help");
        Assert.Equal(0, code);
        Assert.Contains("ivshmem-agent net status - show what a running 'ivshmem-agent net' does", output);
        foreach (string section in new[] { "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES" })
            Assert.Contains("\n" + section + "\n", output);
        Assert.All(output.Split('\n'), line => Assert.True(line.Length <= 80, $"longer than 80 columns: '{line}'"));
        Assert.Contains("status", CommandLineTests.Run("net", "--help").Output);
    }
}
