using System.Diagnostics;
using Ivshmem.Daemon.Tests.Infrastructure;

namespace Ivshmem.Daemon.Tests.Libvirt;

/// <summary>
/// A real libvirtd (the system instance, as root) of the test's own: started in a private mount
/// namespace whose /run/libvirt, /var/lib/libvirt, /etc/libvirt/qemu and /var/log/libvirt are the
/// test's, with its socket in the test directory (URI qemu:///system?socket=...) and a qemu.conf that
/// runs QEMU as root with no security driver and no cgroups, so it touches nothing of the host's
/// libvirt and leaves nothing behind. Domains are created with virsh (test setup); what is under test
/// talks to it through the C API.
/// </summary>
internal sealed class PrivateLibvirtd : IDisposable
{
    public const string Program = "/usr/sbin/libvirtd";

    private readonly TestDirectory _dir = new();
    private readonly List<string> _domains = [];
    private Process? _process;

    public PrivateLibvirtd() => Start();

    public string Directory => _dir.Path;
    public string Socket => _dir.File("sock/libvirt-sock");
    public string Uri => $"qemu:///system?socket={Socket}";
    public string LogDirectory => _dir.File("log");

    public void Start()
    {
        System.IO.Directory.CreateDirectory(_dir.File("sock"));
        System.IO.Directory.CreateDirectory(LogDirectory);
        File.WriteAllText(_dir.File("libvirtd.conf"), $"""
            unix_sock_dir = "{_dir.File("sock")}"
            unix_sock_rw_perms = "0700"
            auth_unix_rw = "none"
            auth_unix_ro = "none"
            log_outputs = "3:file:{_dir.File("libvirtd.log")}"
            """);
        File.WriteAllText(_dir.File("qemu.conf"), """
            user = "root"
            group = "root"
            dynamic_ownership = 0
            security_driver = "none"
            stdio_handler = "file"
            cgroup_controllers = [ ]
            """);
        // State that the host's own libvirt would keep is tmpfs here, its cache of QEMU's capabilities
        // included (tests run in parallel, each with its libvirtd); the pid file is the test's too.
        File.WriteAllText(_dir.File("start.sh"), $"""
            set -e
            mount --make-rprivate /
            for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /etc/libvirt/qemu; do mkdir -p $d; mount -t tmpfs tmpfs $d; done
            mkdir -p /var/log/libvirt; mount --bind {LogDirectory} /var/log/libvirt
            mount --bind {_dir.File("qemu.conf")} /etc/libvirt/qemu.conf
            exec {Program} --config {_dir.File("libvirtd.conf")} --pid-file {_dir.File("libvirtd.pid")}
            """);
        File.Delete(Socket);
        var start = new ProcessStartInfo("unshare", ["--mount", "bash", _dir.File("start.sh")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Eventually.True(() => File.Exists(Socket) && Virsh("version").ExitCode == 0 || _process.HasExited,
            "the private libvirtd answers", TimeSpan.FromSeconds(60));
        if (_process.HasExited)
            throw new InvalidOperationException($"libvirtd exited with {_process.ExitCode}:\n{Log()}");
    }

    /// <summary>Stops libvirtd (its domains keep running, as with a real libvirtd restart).</summary>
    public void Stop()
    {
        if (_process is null) return;
        try { _process.Kill(); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
        _process.Dispose();
        _process = null;
    }

    public string Log()
    {
        try { return File.ReadAllText(_dir.File("libvirtd.log")); } catch (IOException) { return "(no libvirtd log)"; }
    }

    /// <summary>Runs virsh against this libvirtd; (exit code, stdout + stderr).</summary>
    public (int ExitCode, string Output) Virsh(params string[] args)
    {
        var start = new ProcessStartInfo("virsh", ["-c", Uri, .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }

    public void MustVirsh(params string[] args)
    {
        var (exitCode, output) = Virsh(args);
        Assert.True(exitCode == 0, $"virsh {string.Join(' ', args)} failed ({exitCode}): {output}");
    }

    /// <summary>Defines (persistent) or creates (transient) a domain from <paramref name="xml"/>; it is destroyed and undefined at the end.</summary>
    public void Define(string name, string xml)
    {
        string file = _dir.File(name + ".xml");
        File.WriteAllText(file, xml);
        _domains.Add(name);
        MustVirsh("define", file);
    }

    public void Create(string name, string xml)
    {
        string file = _dir.File(name + ".xml");
        File.WriteAllText(file, xml);
        _domains.Add(name);
        MustVirsh("create", file);
    }

    public string ConsoleLog(string name)
    {
        try { return File.ReadAllText(Path.Combine(LogDirectory, name + ".console")); } catch (IOException) { return ""; }
    }

    public void Dispose()
    {
        if (_process is not null)
            foreach (string name in _domains)
            {
                Virsh("destroy", name);
                Virsh("undefine", name);
            }
        Stop();
        _dir.Dispose();
    }
}
