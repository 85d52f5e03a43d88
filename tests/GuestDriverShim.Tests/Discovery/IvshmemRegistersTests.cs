using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests;

public sealed class IvshmemRegistersTests
{
    [Theory]
    [InlineData(0, 0, 0x00000000u)]
    [InlineData(1, 1, 0x00010001u)]
    [InlineData(65535, 255, 0xFFFF00FFu)]
    public void TheDoorbellValueIsThePeerIdAboveTheVector(int peer, int vector, uint expected) =>
        Assert.Equal(expected, IvshmemRegisters.DoorbellValue(peer, vector));

    [Fact]
    public void VectorsBeyondBits7To0AreRefusedBecauseQemuWouldRingAnother() =>
        Assert.Contains("bits 7..0", Assert.Throws<ArgumentOutOfRangeException>(() => IvshmemRegisters.DoorbellValue(1, 256)).Message);

    [Fact]
    public void PeerIdsBeyond16BitsAreRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => IvshmemRegisters.DoorbellValue(65536, 0));
}
