using System.CommandLine;
using System.Globalization;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Libvirt;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Cli;

/// <summary>
/// What <c>ivshmemd attach</c> and <c>ivshmemd detach</c> share: the VM, --region, how to reach the
/// VM (--qmp SOCKET for a plain QEMU, --libvirt[=URI] for a libvirt domain), --config and --timeout;
/// the regions they act on, and the <see cref="IVmHotplug"/> they act through.
/// </summary>
internal sealed class HotplugOptions
{
    public const string DefaultLibvirtUri = "qemu:///system";
    public const double DefaultTimeoutSeconds = 10;

    private readonly string _commandPath;

    public HotplugOptions(string verb)
    {
        _commandPath = $"ivshmemd {verb}";
        Vm = VmArgument.Create("The VM's name: the value of QEMU's -name (guest=) option, as listed under 'vms' in the configuration; for libvirt, the domain name.");
        Region = new Option<string?>("--region", "-r")
        {
            Description = $"Only this region of the VM (default: every region whose 'vms' list names VM, in file order).",
            HelpName = "REGION",
        };
        Qmp = new Option<string?>("--qmp")
        {
            Description = "A plain QEMU: the UNIX socket of its QMP monitor, as given to QEMU with -qmp unix:SOCKET,server=on,wait=off. QEMU serves one QMP client at a time on it.",
            HelpName = "SOCKET",
        };
        Libvirt = new Option<string?>("--libvirt")
        {
            Description = $"A libvirt domain named VM, on the libvirt connection URI, written --libvirt=URI (default {DefaultLibvirtUri} when --libvirt is given without a value).",
            HelpName = "[=URI]",
            Arity = ArgumentArity.ZeroOrOne,
        };
        Config = ConfigFileOption.Create();
        Timeout = new Option<double>("--timeout", "-t")
        {
            Description = "How long to wait for each step, in seconds: an answer from QEMU, the daemon listing the VM (attach), the guest releasing the device (detach).",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => DefaultTimeoutSeconds,
        };
        Timeout.Validators.Add(result =>
        {
            double seconds = result.GetValueOrDefault<double>();
            if (!(seconds > 0 && seconds <= 3600))
                result.AddError($"--timeout must be more than 0 and at most 3600 seconds, not {seconds.ToString(CultureInfo.InvariantCulture)}");
        });
    }

    public Argument<string> Vm { get; }
    public Option<string?> Region { get; }
    public Option<string?> Qmp { get; }
    public Option<string?> Libvirt { get; }
    public Option<string> Config { get; }
    public Option<double> Timeout { get; }

    /// <summary>What a command does once its request is read: write each region's outcome to the
    /// writer; a <see cref="VmHotplugException"/> ends it with its message and exit status.</summary>
    public delegate Task Body(Request request, ParseResult parseResult, TextWriter output, CancellationToken cancellationToken);

    /// <summary>The command with these arguments and options, one of --qmp and --libvirt required,
    /// running <paramref name="body"/>: configuration and regions first (their errors reported the
    /// same way for both commands), then the body; a failure is one line on standard error.</summary>
    public Command CreateCommand(string name, string summary, Body body)
    {
        var command = new Command(name, summary) { Vm, Region, Qmp, Libvirt, Config, Timeout };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output, error = parseResult.InvocationConfiguration.Error;
            (Request? request, int exitCode) = Read(parseResult, error);
            if (request is null)
                return exitCode;
            try
            {
                await body(request, parseResult, output, cancellationToken);
                return ExitCodes.Ok;
            }
            catch (VmHotplugException e)
            {
                await error.WriteLineAsync($"{_commandPath}: {(e.ExitCode == ExitCodes.Refused ? "refused" : "error")}: {e.Message}");
                return e.ExitCode;
            }
        });
        command.Validators.Add(result =>
        {
            bool qmp = result.GetResult(Qmp) is not null, libvirt = result.GetResult(Libvirt) is not null;
            if (qmp && libvirt)
                result.AddError("--qmp and --libvirt exclude each other: the VM is either a plain QEMU or a libvirt domain");
            else if (!qmp && !libvirt)
                result.AddError("say how to reach the VM: --qmp SOCKET (a plain QEMU) or --libvirt[=URI] (a libvirt domain)");
        });
        return command;
    }

    /// <summary>What one run was asked: the VM, its regions (after reporting why there are none) and the timeout.</summary>
    public sealed record Request(string VmName, DaemonOptions Options, IReadOnlyList<RegionOptions> Regions, TimeSpan Timeout);

    /// <summary>The request, or the exit status after the reason went to <paramref name="error"/>.</summary>
    private (Request? Request, int ExitCode) Read(ParseResult parseResult, TextWriter error)
    {
        string vmName = parseResult.GetRequiredValue(Vm);
        DaemonOptions? options = ConfigFileOption.LoadOrReport(parseResult.GetRequiredValue(Config), error, _commandPath);
        if (options is null)
            return (null, ExitCodes.Config);
        IReadOnlyList<RegionOptions> regions = VmArgument.RegionsOrReport(options, vmName, parseResult.GetValue(Region), error, _commandPath);
        if (regions.Count == 0)
            return (null, ExitCodes.Failure);
        return (new Request(vmName, options, regions, TimeSpan.FromSeconds(parseResult.GetValue(Timeout))), ExitCodes.Ok);
    }

    /// <summary>Reaches the VM the options name: its QMP socket, or libvirt.</summary>
    public async Task<IVmHotplug> OpenAsync(ParseResult parseResult, Request request, CancellationToken cancellationToken)
    {
        if (parseResult.GetValue(Qmp) is { } socket)
            return await QmpHotplug.ConnectAsync(socket, request.Timeout, cancellationToken);
        string uri = parseResult.GetValue(Libvirt) is { Length: > 0 } given ? given : DefaultLibvirtUri;
        return LibvirtHotplug.Open(uri, request.VmName);
    }

    /// <summary>The exit statuses both commands share, worded for <paramref name="verb"/>.</summary>
    public static IReadOnlyList<ManEntry> SharedExitStatus(string verb) =>
    [
        new(RootManPage.Code(ExitCodes.Unavailable), $"EX_UNAVAILABLE: the VM cannot be reached: no QMP socket, nothing listens on it (the VM is not running), or QEMU did not answer within --timeout{(verb == "attach" ? "; or no daemon answers on the control socket of the configuration" : "")}. Nothing was changed."),
        new(RootManPage.Code(ExitCodes.NoPermission), "EX_NOPERM: no permission to connect to the QMP socket (or to the daemon's control socket)."),
        RootManPage.ConfigExitStatus("the configuration file is not valid or cannot be read; every error is on standard error"),
    ];
}
