namespace Ivshmem.Peer.Guest;

/// <summary>The ivshmem device cannot be found, bound, opened or mapped; the message says why and what
/// to do about it.</summary>
public sealed class IvshmemDeviceException : Exception
{
    public IvshmemDeviceException(string message) : base(message) { }
    public IvshmemDeviceException(string message, Exception inner) : base(message, inner) { }
}
