using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Ivshmem.Ring;

/// <summary>Throws kept out of line so the hot paths that check for them stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void TooLong(int length, int max) =>
        throw new ArgumentOutOfRangeException(nameof(length), $"a record of {length} bytes is larger than this ring's maximum of {max}; split it (RingStream does)");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ClaimOutstanding() =>
        throw new InvalidOperationException("a claim is outstanding: Commit or Abort it before claiming again");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void NoClaim() =>
        throw new InvalidOperationException("nothing is claimed: call TryClaim first");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void CommitTooLong(int length, int claimed) =>
        throw new ArgumentOutOfRangeException(nameof(length), $"cannot commit {length} bytes of a claim of {claimed}");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ReservedType(int type) =>
        throw new ArgumentOutOfRangeException(nameof(type), $"record type {type} is reserved (-1 padding, -2 session start)");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void DestinationTooSmall(int length, int available) =>
        throw new ArgumentException($"the next record has {length} bytes but the destination holds {available}; pass a buffer of at least MaxPayload bytes", "destination");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Rethrow(Exception failure) => throw failure;
}
