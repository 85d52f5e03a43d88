using System.Text;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Tests.Vm;

/// <summary>The VM name read from a QEMU argv the way QEMU 7.2 parses -name.</summary>
public sealed class QemuProcessNameTests
{
    /// <summary>/proc/PID/cmdline: every argument followed by a NUL.</summary>
    private static byte[] Cmdline(params string[] argv) => Encoding.UTF8.GetBytes(string.Concat(argv.Select(a => a + "\0")));

    private static string? NameOf(params string[] argumentsAfterProgram) =>
        QemuProcessName.FromCmdline(Cmdline(["/usr/bin/qemu-system-x86_64", .. argumentsAfterProgram]));

    [Fact]
    public void PlainNameIsTheGuestName() =>
        Assert.Equal("web", NameOf("-M", "q35", "-name", "web", "-m", "512"));

    [Fact]
    public void LibvirtsGuestKeyWithOtherParametersIsRead() =>
        Assert.Equal("web", NameOf("-name", "guest=web,debug-threads=on", "-S"));

    [Fact]
    public void ImpliedGuestKeyMayBeFollowedByOtherParameters() =>
        Assert.Equal("web", NameOf("-name", "web,process=qemu-web,debug-threads=on"));

    [Fact]
    public void DoubleDashFormIsTheSameOption() =>
        Assert.Equal("web", NameOf("--name", "web"));

    [Theory]
    [InlineData("a,,b", "a,b")]
    [InlineData("guest=a,,b,debug-threads=on", "a,b")]
    [InlineData("a,,,,b", "a,,b")]
    [InlineData("end,,", "end,")]
    [InlineData("a,,b=c", "a,b=c")] // the first ',' is escaped, so there is no '=' before a separator
    public void DoubledCommasAreLiteralCommas(string value, string expected) =>
        Assert.Equal(expected, NameOf("-name", value));

    [Fact]
    public void EqualsSignAttachedToTheOptionIsNotAnOptionQemuAccepts() =>
        // QEMU exits with "invalid option" for -name=web, so no running QEMU has it; it names nothing.
        Assert.Null(NameOf("-name=web"));

    [Fact]
    public void AbsentNameGivesNull() =>
        Assert.Null(NameOf("-M", "q35", "-nodefaults", "-display", "none"));

    [Theory]
    [InlineData("")]
    [InlineData("guest=")]
    [InlineData("debug-threads=on")]
    [InlineData("process=qemu-web")]
    public void NameWithoutAGuestValueGivesNull(string value) =>
        Assert.Null(NameOf("-name", value));

    [Fact]
    public void NameOptionWithoutValueGivesNull() =>
        Assert.Null(NameOf("-m", "512", "-name"));

    [Fact]
    public void RepeatedNameOptionsMergeAndTheLastGuestWins() =>
        // QEMU's "name" option list merges repeated -name options; a repeated key takes the last value.
        Assert.Equal("second", NameOf("-name", "first", "-name", "guest=second,debug-threads=on"));

    [Fact]
    public void LaterNameWithoutGuestDoesNotClearAnEarlierOne() =>
        Assert.Equal("web", NameOf("-name", "web", "-name", "debug-threads=on"));

    [Fact]
    public void GuestKeyTwiceInOneValueTakesTheLast() =>
        Assert.Equal("b", NameOf("-name", "guest=a,guest=b"));

    [Fact]
    public void BareFlagAfterTheFirstParameterIsNotTheGuestName() =>
        Assert.Equal("web", NameOf("-name", "web,debug-threads"));

    [Fact]
    public void ValueOfNameIsConsumedEvenIfItLooksLikeAnOption() =>
        // "-name -name" names the VM "-name"; the second "-name" is a value, not another option.
        Assert.Equal("-name", NameOf("-name", "-name", "-S"));

    [Fact]
    public void ProgramNameIsNeverTakenForTheOption() =>
        Assert.Null(QemuProcessName.FromCmdline(Cmdline("-name", "web")));

    [Fact]
    public void CmdlineWithoutTrailingNulIsReadTheSame()
    {
        byte[] withNul = Cmdline("/usr/bin/qemu-system-x86_64", "-name", "guest=db");
        byte[] withoutNul = withNul[..^1];

        Assert.Equal("db", QemuProcessName.FromCmdline(withNul));
        Assert.Equal("db", QemuProcessName.FromCmdline(withoutNul));
    }

    [Fact]
    public void EmptyCmdlineOfAKernelThreadOrZombieGivesNull() =>
        Assert.Null(QemuProcessName.FromCmdline([]));

    [Fact]
    public void NonAsciiNamesSurviveTheUtf8Decoding() =>
        Assert.Equal("wéb-ü", NameOf("-name", "guest=wéb-ü"));

    [Fact]
    public void ArgumentsWithSpacesStayWhole() =>
        Assert.Equal("my vm", NameOf("-append", "console=ttyS0 -name fake", "-name", "my vm"));

    [Fact]
    public void FromArgvMatchesFromCmdline()
    {
        string[] argv = ["qemu-system-x86_64", "-name", "guest=web,debug-threads=on"];

        Assert.Equal(QemuProcessName.FromCmdline(Cmdline(argv)), QemuProcessName.FromArgv(argv));
    }
}
