namespace Ivshmem.Ring;

/// <summary>Base of the errors this library raises about shared memory and peers.</summary>
public class IvshmemException : Exception
{
    public IvshmemException(string message) : base(message) { }
    public IvshmemException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A value read from shared memory is impossible: the peer is broken or hostile, or the memory was
/// re-formatted underneath. The channel is closed; its memory is never touched again by this side.
/// The message says which ring, which value, and at which position.
/// </summary>
public sealed class RingCorruptedException : IvshmemException
{
    public RingCorruptedException(string ring, string message) : base($"{ring}: {message}") => Ring = ring;
    public string Ring { get; }
}

/// <summary>The region's header does not describe a valid layout v1 region of the mapped size.</summary>
public sealed class RegionFormatException : IvshmemException
{
    public RegionFormatException(string message) : base(message) { }
}

/// <summary>The peer at the other end left (or its slot was taken by a new peer).</summary>
public sealed class PeerGoneException : IvshmemException
{
    public PeerGoneException(string message) : base(message) { }
}
