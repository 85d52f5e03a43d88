namespace Ivshmem.Peer.Guest;

/// <summary>
/// BAR0 of an ivshmem device (docs/device.md, "BAR0 registers"): 256 bytes, 32-bit accesses only,
/// little-endian.
/// <code>
/// off  name        access  QEMU 7.2
/// 0x00 IntrMask    RW      plain storage, no effect (INTx is gone)
/// 0x04 IntrStatus  RW      a read returns it and clears it; never set on ivshmem-doorbell
/// 0x08 IVPosition  RO      own peer id (0 on ivshmem-plain)
/// 0x0C Doorbell    WO      bits 31..16 destination peer id, bits 7..0 vector (QEMU ignores 15..8)
/// </code>
/// A doorbell to a peer that is not connected is silently dropped by QEMU.
/// </summary>
public static class IvshmemRegisters
{
    public const int Bar0Size = 256;
    public const int IntrMaskOffset = 0x00;
    public const int IntrStatusOffset = 0x04;
    public const int IvPositionOffset = 0x08;
    public const int DoorbellOffset = 0x0C;

    /// <summary>Vectors a guest can reach: QEMU takes the vector from bits 7..0 only.</summary>
    public const int MaxVectors = 256;

    /// <summary>The Doorbell value that rings <paramref name="vector"/> of <paramref name="peerId"/>.</summary>
    public static uint DoorbellValue(int peerId, int vector)
    {
        if ((uint)peerId > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(peerId), $"peer id {peerId} is outside 0..65535");
        if ((uint)vector >= MaxVectors) throw new ArgumentOutOfRangeException(nameof(vector), $"vector {vector} is outside 0..{MaxVectors - 1} (QEMU reads the vector from bits 7..0 only)");
        return ((uint)peerId << 16) | (uint)vector;
    }
}

/// <summary>Access to BAR0: by a mapping, or by pread/pwrite on the VFIO device fd.</summary>
internal interface IDeviceRegisters : IDisposable
{
    uint Read32(int offset);

    void Write32(int offset, uint value);

    /// <summary>How the registers are reached, for info output.</summary>
    string Description { get; }
}

/// <summary>BAR0 mapped into this process (sysfs resource0, or a VFIO region that allows mmap).</summary>
internal sealed unsafe class MappedRegisters : IDeviceRegisters
{
    private byte* _mapping;
    private readonly long _mappedLength;
    private readonly byte* _registers;

    /// <param name="mapping">The mapping as mmap returned it (page-aligned).</param>
    /// <param name="pageOffset">Where BAR0 starts inside the first mapped page.</param>
    public MappedRegisters(byte* mapping, long mappedLength, int pageOffset, string description)
    {
        _mapping = mapping;
        _mappedLength = mappedLength;
        _registers = mapping + pageOffset;
        Description = description;
    }

    public string Description { get; }

    // Volatile: a 32-bit access that the JIT may neither split, merge nor drop (MMIO semantics).
    public uint Read32(int offset) => Volatile.Read(ref *(uint*)(_registers + Check(offset)));

    public void Write32(int offset, uint value) => Volatile.Write(ref *(uint*)(_registers + Check(offset)), value);

    public void Dispose()
    {
        byte* p = _mapping;
        _mapping = null;
        Interop.Unmap(p, _mappedLength);
    }

    private static int Check(int offset) =>
        (uint)offset <= IvshmemRegisters.Bar0Size - 4 && (offset & 3) == 0
            ? offset
            : throw new ArgumentOutOfRangeException(nameof(offset), $"BAR0 offset 0x{offset:X} is not a 32-bit register");
}

/// <summary>BAR0 through pread/pwrite on the VFIO device fd: always offered, even when vfio-pci
/// cannot map a BAR smaller than a page (one syscall per access).</summary>
internal sealed class VfioRegisters(int deviceFd, long regionOffset) : IDeviceRegisters
{
    public string Description => "pread/pwrite on the VFIO device fd (BAR0 is not mappable)";

    public uint Read32(int offset)
    {
        Span<byte> value = stackalloc byte[4];
        Interop.PReadExactly(deviceFd, value, regionOffset + offset, $"read BAR0+0x{offset:X}");
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(value);
    }

    public void Write32(int offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Interop.PWriteExactly(deviceFd, bytes, regionOffset + offset, $"write BAR0+0x{offset:X}");
    }

    public void Dispose() { }
}
