using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests;

public sealed class PatMemtypeTests
{
    // As /sys/kernel/debug/x86/pat_memtype_list prints it (Linux 6.1).
    private const string List = """
        PAT memtype list:
        PAT: [mem 0x00000000000a0000-0x00000000000c0000] uncached-minus
        PAT: [mem 0x00000000fd000000-0x00000000fe000000] uncached-minus
        PAT: [mem 0x00000000febfd000-0x00000000febfe000] uncached-minus
        PAT: [mem 0x0000000380000000-0x0000000384000000] write-back
        """;

    [Theory]
    [InlineData(0xfd000000UL, "uncached-minus")]
    [InlineData(0xfdffffffUL, "uncached-minus")]
    [InlineData(0x380000000UL, "write-back")]
    public void FindsTheEntryThatCoversTheAddress(ulong physical, string expected) =>
        Assert.Equal(expected, PatMemtype.Find(List, physical));

    [Fact]
    public void AnAddressNoEntryCoversHasNoMemtype() => Assert.Null(PatMemtype.Find(List, 0xfe000000UL));

    [Fact]
    public void WithoutDebugfsTheMemtypeIsUnknown()
    {
        using var empty = new TempDirectory();
        Assert.Null(PatMemtype.Lookup(empty.Path, 0xfd000000UL));
    }
}
