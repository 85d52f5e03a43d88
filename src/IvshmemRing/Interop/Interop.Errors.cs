using System.Runtime.InteropServices;

namespace Ivshmem.Ring;

/// <summary>The errno funnel: every syscall result of this library passes through here.</summary>
internal static partial class Interop
{
    internal const int EINTR = 4;
    internal const int EAGAIN = 11;

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
