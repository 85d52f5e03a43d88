using System.Net.Sockets;
using Ivshmem.Daemon.Doctor;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Doctor;

/// <summary>
/// A host for doctor built from real files in a temporary directory: a system root (proc/, sys/,
/// etc/libvirt/) that starts healthy, a fake QEMU, and real directories for the sockets. Each test
/// breaks one thing. What doctor reads below the root is plain text written here; what the
/// configuration names (sockets, their directories, shm files) is real files with real modes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class BrokenHost : IDisposable
{
    private readonly TestDirectory _directory = new();

    public BrokenHost()
    {
        // CreateTempSubdirectory makes it 0700: QEMU's user could not search it.
        File.SetUnixFileMode(Dir, (UnixFileMode)Convert.ToInt32("755", 8));
        Write("proc/meminfo", "MemTotal:       16777216 kB\nMemAvailable:    8388608 kB\nHugepagesize:       2048 kB\n");
        Write("proc/mounts", $"hugetlbfs {HugeMount} hugetlbfs rw,relatime,pagesize=2M 0 0\n");
        Write("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "512\n");
        Write("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "512\n");
        Directory.CreateDirectory(HugeMount);
        Directory.CreateDirectory(RunDir);
        File.SetUnixFileMode(RunDir, (UnixFileMode)Convert.ToInt32("755", 8));
        Qemu = FakeQemu(withIvshmem: true);
    }

    /// <summary>The temporary directory; its "root" stands for "/".</summary>
    public string Dir => _directory.Path;

    public string Root => Path.Combine(Dir, "root");

    /// <summary>The runtime directory the configurations use (exists, 0755).</summary>
    public string RunDir => Path.Combine(Dir, "run");

    public string HugeMount => Path.Combine(Dir, "hugepages");

    /// <summary>The QEMU binary doctor is given.</summary>
    public string Qemu { get; set; }

    /// <summary>Writes a system file below the root, e.g. "proc/meminfo".</summary>
    public void Write(string relative, string text)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    /// <summary>libvirt's qemu.conf naming QEMU's user and group.</summary>
    public void LibvirtRunsQemuAs(string user, string group) =>
        Write("etc/libvirt/qemu.conf", $"# written by a test\n#user = \"root\"\nuser = \"{user}\"\ngroup = \"{group}\"\n");

    /// <summary>
    /// A stand-in for qemu-system-x86_64: a shell script that prints a device list in QEMU's format,
    /// with or without ivshmem-doorbell. A fake, because a QEMU built without ivshmem is not at
    /// hand; doctor only reads what "-device help" prints.
    /// </summary>
    public string FakeQemu(bool withIvshmem)
    {
        string path = Path.Combine(Dir, withIvshmem ? "qemu-good" : "qemu-no-ivshmem");
        string ivshmem = withIvshmem
            ? "name \"ivshmem-doorbell\", bus PCI, desc \"Inter-VM shared memory\"\nname \"ivshmem-plain\", bus PCI, desc \"Inter-VM shared memory\"\n"
            : "";
        File.WriteAllText(path, $"""
            #!/bin/sh
            if [ "$1" = --version ]; then echo "QEMU emulator version 9.9.9 (test)"; exit 0; fi
            cat <<'LIST'
            Misc devices:
            name "pci-testdev", bus PCI, desc "PCI Test Device"
            {ivshmem}name "virtio-balloon-pci", bus PCI, desc "virtio balloon"
            LIST
            """);
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("755", 8));
        return path;
    }

    /// <summary>A configuration file with the runtime directory in <see cref="RunDir"/>; <paramref name="regions"/>
    /// is the YAML of the regions list, indented by four spaces.</summary>
    public string Config(string regions, string top = "")
    {
        string path = Path.Combine(Dir, "ivshmemd.yaml");
        File.WriteAllText(path, $"runtime_directory: {RunDir}\n{top}regions:\n{regions}");
        return path;
    }

    public const string OneRegion = """
            - name: web-db
              size: 1M
              socket_mode: "0666"
              vms: [web, db]

        """;

    /// <summary>Runs doctor against this host; the exit status and every line it printed.</summary>
    public async Task<(int ExitCode, string[] Lines)> DoctorAsync(string config, string? vm = null)
    {
        using var output = new StringWriter();
        int exitCode = await DoctorRun.RunAsync(config, vm, new HostView(Root, Qemu), output);
        return (exitCode, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>A UNIX socket bound at <paramref name="path"/> that answers every connection with
    /// <paramref name="answer"/>; null answer: bound but not listening (what a killed daemon leaves).</summary>
    public static Socket ServeAt(string path, string? answer)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        if (answer is null) return socket;
        socket.Listen();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using Socket client = await socket.AcceptAsync();
                    await client.ReceiveAsync(new byte[256]); // the request, as the daemon reads it
                    await client.SendAsync(System.Text.Encoding.UTF8.GetBytes(answer));
                    client.Shutdown(SocketShutdown.Both);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        });
        return socket;
    }

    public void Dispose() => _directory.Dispose();
}
