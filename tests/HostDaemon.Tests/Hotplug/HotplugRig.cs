using Ivshmem.Daemon.Control;
using Ivshmem.Daemon.Tests.Cli;
using Ivshmem.Daemon.Tests.Infrastructure;
using Ivshmem.Daemon.Tests.Qemu;

namespace Ivshmem.Daemon.Tests.Hotplug;

/// <summary>
/// What <c>ivshmemd attach</c>/<c>detach</c> run against: a real configuration file (region "q" for
/// vm-a, vm-b, vm-c and the test user), the server core serving it, and the control socket
/// <c>attach</c> asks, answering with the same report the daemon builds. Commands run through the
/// real command line (<see cref="CliRunner"/>).
/// </summary>
internal sealed class HotplugRig : IAsyncDisposable
{
    private readonly ControlServer _control;

    public HotplugRig()
    {
        Config = QemuConfig.Write(Directory);
        Server = new RunningServer(Config.Options, Directory);
        var state = new DaemonState(Config.Path, Config.Path);
        _control = new ControlServer(Config.Options.ControlSocketPath, null,
            () => StatusReport.From(Server.Server.Status, state, Server.Server.Rings, Server.Server.UnpluggedQemu), Server.Log);
        _control.Start();
    }

    public TestDirectory Directory { get; } = new();
    public QemuConfig Config { get; }
    public RunningServer Server { get; }

    /// <summary>Runs <c>ivshmemd VERB VM --config FILE ARGS...</c>.</summary>
    public Task<CliResult> RunAsync(string verb, string vm, params string[] args) =>
        CliRunner.RunAsync([verb, vm, "--config", Config.Path, .. args]);

    /// <summary>A QEMU without a guest OS as <paramref name="vm"/>, with <c>qemu-args</c>' options
    /// plus <paramref name="qemuArgsOptions"/> (--no-device); null options: no ivshmem options at all.</summary>
    public QemuProcess StartQemu(string vm, params string[]? qemuArgsOptions) =>
        QemuProcess.Start(vm, Directory.Path, qemuArgsOptions is null ? [] : Config.QemuArgs(vm, qemuArgsOptions));

    public async ValueTask DisposeAsync()
    {
        await _control.DisposeAsync();
        Server.Dispose();
        Directory.Dispose();
    }
}
