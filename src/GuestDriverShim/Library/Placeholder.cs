namespace Ivshmem.Guest; internal static class Placeholder { }
