using System.Runtime.InteropServices;

namespace Ivshmem.Guest;

/// <summary>The errno funnel of the guest library: every syscall result passes through here.</summary>
internal static partial class Interop
{
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int EIO = 5;
    internal const int EAGAIN = 11;
    internal const int EACCES = 13;
    internal const int EBUSY = 16;
    internal const int EINVAL = 22;

    /// <summary>Throws an <see cref="IOException"/> naming the call and the errno when
    /// <paramref name="result"/> is -1; returns it otherwise.</summary>
    internal static int CheckIo(int result, string what)
    {
        if (result == -1) ThrowLastError(what);
        return result;
    }

    internal static long CheckIo(long result, string what)
    {
        if (result == -1) ThrowLastError(what);
        return result;
    }

    internal static int LastErrno() => Marshal.GetLastPInvokeError();

    internal static IOException ErrorFor(int errno, string what) =>
        new($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})") { HResult = errno };

    private static void ThrowLastError(string what) => throw ErrorFor(LastErrno(), what);
}
