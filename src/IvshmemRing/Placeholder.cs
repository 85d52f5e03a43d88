namespace Ivshmem.Ring; internal static class Placeholder { }
