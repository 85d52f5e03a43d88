namespace Ivshmem.Ring;

/// <summary>Rings a peer by writing 1 to its eventfd (the fd ivshmemd handed out for that peer and vector).
/// The fd is borrowed: whoever received it closes it.</summary>
public sealed class EventFdSignal : IRingSignal
{
    private readonly int _fd;

    public EventFdSignal(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        _fd = fd;
    }

    public void Ring() => Interop.EventFdSignal(_fd);
}
