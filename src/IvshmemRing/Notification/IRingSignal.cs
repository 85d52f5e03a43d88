namespace Ivshmem.Ring;

/// <summary>
/// Rings the other side's doorbell: an eventfd write on a host, a Doorbell register write in a guest.
/// The ring calls it only when the other side announced that it sleeps, never per message.
/// </summary>
public interface IRingSignal
{
    void Ring();
}
