namespace Ivshmem.Ring;

/// <summary>Record types with a fixed meaning. Applications that send their own messages on a channel
/// use types from <see cref="FirstApplicationType"/> up.</summary>
public static class RecordTypes
{
    /// <summary>Fills the end of a ring's data area before a wrap; never seen by applications.</summary>
    public const int Padding = RingLayout.PaddingType;

    /// <summary>Opens a producer session (its payload is the session id); never seen by applications.</summary>
    public const int SessionStart = RingLayout.SessionStartType;

    /// <summary>A piece of a byte stream (<see cref="RingStream"/>).</summary>
    public const int StreamData = 1;

    /// <summary>The writer closed its end of the stream: reads return 0 after the data before it.</summary>
    public const int StreamEnd = 2;

    public const int FirstApplicationType = 16;
}
