using static Tmds.Linux.LibC;

namespace Ivshmem;

internal static partial class Interop
{
    /// <summary>Closes <paramref name="fd"/> if it is one (-1 is "none"). close(2) is never retried:
    /// on Linux the fd is gone even when it reports EINTR, and a retry could close someone else's new fd.</summary>
    internal static void Close(int fd)
    {
        if (fd >= 0) close(fd);
    }
}
