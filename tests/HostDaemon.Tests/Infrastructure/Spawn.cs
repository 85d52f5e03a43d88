using System.Runtime.InteropServices;

namespace Ivshmem.Daemon.Tests.Infrastructure;

/// <summary>
/// posix_spawn with chosen fds at chosen numbers, which System.Diagnostics.Process cannot do: a
/// restarted daemon must find the fd store's fds at 3, 4, ... exactly as systemd passes them
/// (sd_listen_fds(3)). The fds to pass are first duplicated close-on-exec above 1000, so the
/// dup2 actions never overwrite one another and no other child process inherits them.
/// </summary>
internal static unsafe partial class Spawn
{
    private const int O_WRONLY = 1, O_CREAT = 0x40, O_APPEND = 0x400, F_DUPFD_CLOEXEC = 1030;
    private const int WNOHANG = 1;

    /// <summary>Starts <paramref name="argv"/>[0] with <paramref name="environment"/>, stdout and stderr
    /// appended to <paramref name="logPath"/>, and <paramref name="passFds"/>[i] as fd 3+i. Returns the pid.</summary>
    public static int Start(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment, string logPath, IReadOnlyList<int> passFds)
    {
        var high = new List<int>();
        byte* actions = stackalloc byte[256]; // posix_spawn_file_actions_t is 80 bytes in glibc
        IntPtr[] args = [.. argv.Select(Marshal.StringToCoTaskMemUTF8), IntPtr.Zero];
        IntPtr[] env = [.. environment.Select(kv => Marshal.StringToCoTaskMemUTF8($"{kv.Key}={kv.Value}")), IntPtr.Zero];
        IntPtr log = Marshal.StringToCoTaskMemUTF8(logPath);
        try
        {
            foreach (int fd in passFds)
            {
                int dup = fcntl(fd, F_DUPFD_CLOEXEC, 1000);
                if (dup < 0) throw new IOException($"dup of fd {fd}: errno {Marshal.GetLastPInvokeError()}");
                high.Add(dup);
            }
            Check(posix_spawn_file_actions_init(actions), "file_actions_init");
            Check(posix_spawn_file_actions_addopen(actions, 1, (byte*)log, O_WRONLY | O_CREAT | O_APPEND, 0x1A4), "addopen");
            Check(posix_spawn_file_actions_adddup2(actions, 1, 2), "adddup2 stderr");
            for (int i = 0; i < high.Count; i++)
                Check(posix_spawn_file_actions_adddup2(actions, high[i], 3 + i), "adddup2"); // dup2 clears close-on-exec
            int pid;
            fixed (IntPtr* a = args)
            fixed (IntPtr* e = env)
                Check(posix_spawn(&pid, (byte*)args[0], actions, null, (byte**)a, (byte**)e), $"posix_spawn {argv[0]}");
            posix_spawn_file_actions_destroy(actions);
            return pid;
        }
        finally
        {
            foreach (int fd in high) close(fd);
            foreach (IntPtr p in args) Marshal.FreeCoTaskMem(p);
            foreach (IntPtr p in env) Marshal.FreeCoTaskMem(p);
            Marshal.FreeCoTaskMem(log);
        }
    }

    /// <summary>The exit status if <paramref name="pid"/> has exited (reaped now): the exit code, or
    /// 128 + signal like a shell; null while it runs.</summary>
    public static int? TryReap(int pid)
    {
        int status;
        int r = waitpid(pid, &status, WNOHANG);
        if (r == 0) return null;
        if (r < 0) return -1; // reaped by someone else
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
    }

    public static void Signal(int pid, int signal)
    {
        if (kill(pid, signal) != 0) throw new IOException($"kill({pid}, {signal}): errno {Marshal.GetLastPInvokeError()}");
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new IOException($"{what}: error {rc}");
    }

    [LibraryImport("libc.so.6")] private static partial int posix_spawn(int* pid, byte* path, byte* fileActions, void* attr, byte** argv, byte** envp);
    [LibraryImport("libc.so.6")] private static partial int posix_spawn_file_actions_init(byte* actions);
    [LibraryImport("libc.so.6")] private static partial int posix_spawn_file_actions_destroy(byte* actions);
    [LibraryImport("libc.so.6")] private static partial int posix_spawn_file_actions_adddup2(byte* actions, int fd, int newFd);
    [LibraryImport("libc.so.6")] private static partial int posix_spawn_file_actions_addopen(byte* actions, int fd, byte* path, int flags, uint mode);
    [LibraryImport("libc.so.6", SetLastError = true)] private static partial int waitpid(int pid, int* status, int options);
    [LibraryImport("libc.so.6", SetLastError = true)] private static partial int kill(int pid, int signal);
    [LibraryImport("libc.so.6", SetLastError = true)] private static partial int fcntl(int fd, int cmd, int arg);
    [LibraryImport("libc.so.6")] private static partial int close(int fd);
}
