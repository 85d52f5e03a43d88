using Ivshmem.Cli;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Tests.Configuration;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("4096", 4096L)]
    [InlineData("4K", 4096L)]
    [InlineData("4kib", 4096L)]
    [InlineData(" 3 M ", 3L << 20)]
    [InlineData("1024G", 1L << 40)]
    [InlineData("5B", 5L)]
    public void TryParseAcceptsWholeNumbersWithBinarySuffixes(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out long bytes, out string? error), error);
        Assert.Equal(expected, bytes);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("1.5M", "is not a size")]
    [InlineData("-1", "is not a size")]
    [InlineData("", "is not a size")]
    [InlineData("M", "is not a size")]
    [InlineData("64MB", "decimal unit")]
    [InlineData("64 kb", "decimal unit")]
    [InlineData("64X", "unknown unit 'X'")]
    [InlineData("9223372036854775807K", "too large")]
    [InlineData("99999999999999999999", "too large")]
    public void TryParseRejectsWithAReason(string text, string reason)
    {
        Assert.False(ByteSize.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData(65536L, "64K", "64 KiB")]
    [InlineData(3L << 20, "3M", "3 MiB")]
    [InlineData(1L << 30, "1G", "1 GiB")]
    [InlineData(1L << 40, "1T", "1 TiB")]
    [InlineData(65537L, "65537", "65537 bytes")]
    [InlineData(0L, "0", "0 bytes")]
    public void FormatAndDescribeGiveTheShortestExactSpelling(long bytes, string format, string describe)
    {
        Assert.Equal(format, ByteSize.Format(bytes));
        Assert.Equal(describe, ByteSize.Describe(bytes));
        Assert.True(ByteSize.TryParse(format, out long back, out _));
        Assert.Equal(bytes, back);
    }
}
