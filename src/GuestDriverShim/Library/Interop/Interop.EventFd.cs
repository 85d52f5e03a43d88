using static Tmds.Linux.LibC;

namespace Ivshmem.Guest;

internal static partial class Interop
{
    /// <summary>A non-blocking, close-on-exec eventfd: VFIO signals an MSI-X vector on it.</summary>
    internal static int EventFdCreate() => CheckIo(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");
}
