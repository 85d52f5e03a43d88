using System.Runtime.InteropServices;

namespace Ivshmem;

/// <summary>
/// The errno funnel: every syscall result of the assembly passes through here, so each failure
/// becomes an <see cref="IOException"/> that names the call, the object and the errno, with the errno
/// in <see cref="Exception.HResult"/> for callers that classify failures. EINTR is retried at the
/// lowest layer (in the wrappers), never by callers.
/// Linked into each assembly that calls libc (src/Common/Interop), as its own internal code.
/// </summary>
internal static partial class Interop
{
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int EIO = 5;
    internal const int EBADF = 9;
    internal const int EAGAIN = 11;
    internal const int ENOMEM = 12;
    internal const int EACCES = 13;
    internal const int EBUSY = 16;
    internal const int EEXIST = 17;
    internal const int ENOTDIR = 20;
    internal const int EINVAL = 22;
    internal const int ENFILE = 23;
    internal const int EMFILE = 24;
    internal const int ENOSPC = 28;
    internal const int EPIPE = 32;
    internal const int ERANGE = 34;
    internal const int ENOTSOCK = 88;
    internal const int ENOPROTOOPT = 92;
    internal const int EOPNOTSUPP = 95;
    internal const int EADDRINUSE = 98;
    internal const int ECONNABORTED = 103;
    internal const int ECONNRESET = 104;
    internal const int ETIMEDOUT = 110;
    internal const int ECONNREFUSED = 111;

    /// <summary>Throws naming <paramref name="what"/> and the errno when <paramref name="result"/> is
    /// -1; returns it otherwise.</summary>
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

    /// <summary>The errno an <see cref="IOException"/> from this funnel carries (0 for others).</summary>
    internal static int ErrnoOf(Exception e) => e is IOException { HResult: > 0 and < 4096 } io ? io.HResult : 0;

    private static void ThrowLastError(string what) => throw ErrorFor(LastErrno(), what);
}
