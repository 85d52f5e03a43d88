using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests;

public sealed class PciAddressTests
{
    [Theory]
    [InlineData("0000:00:04.0", 0, 0, 4, 0)]
    [InlineData("00:1f.7", 0, 0, 0x1f, 7)]
    [InlineData("abcd:ff:1f.7", 0xabcd, 0xff, 0x1f, 7)]
    public void ParsesBothForms(string text, int domain, int bus, int device, int function)
    {
        Assert.Equal(new PciAddress(domain, bus, device, function), PciAddress.Parse(text));
    }

    [Fact]
    public void PrintsTheSysfsForm() => Assert.Equal("0000:00:1f.7", new PciAddress(0, 0, 0x1f, 7).ToString());

    [Theory]
    [InlineData("")]
    [InlineData("00:20.0")]     // device numbers stop at 0x1f
    [InlineData("00:04.8")]     // functions stop at 7
    [InlineData("0000:00:04")]
    [InlineData("1:2:3:4.0")]
    [InlineData("zz:04.0")]
    public void RejectsWhatIsNotAnAddress(string text)
    {
        Assert.False(PciAddress.TryParse(text, out _));
        Assert.Contains("DDDD:BB:DD.F", Assert.Throws<FormatException>(() => PciAddress.Parse(text)).Message);
    }

    [Fact]
    public void ForgivesSurroundingBlanks() => Assert.Equal(new PciAddress(0, 0, 4, 0), PciAddress.Parse(" 00:04.0\n"));
}
