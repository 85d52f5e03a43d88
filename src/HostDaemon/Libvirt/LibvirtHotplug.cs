using Ivshmem.Daemon.Cli;
using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Vm;

namespace Ivshmem.Daemon.Libvirt;

/// <summary>
/// Hot-plug through libvirt's C API for one domain: the live definition tells what the domain has,
/// virDomainAttachDeviceFlags/virDomainDetachDeviceFlags (LIVE only: the persistent definition is the
/// operator's) put the &lt;shmem&gt; element of <see cref="LibvirtShmemXml"/> in and take it out
/// (docs/libvirt.md). Every libvirt call blocks, so each runs on the thread pool.
/// </summary>
internal sealed class LibvirtHotplug : IVmHotplug
{
    /// <summary>How often a detach re-reads the live definition while it waits for the removal event.</summary>
    private static readonly TimeSpan DetachPoll = TimeSpan.FromMilliseconds(250);

    private readonly LibvirtDomain _domain;
    private readonly bool _ownsConnection;

    private LibvirtHotplug(LibvirtDomain domain, bool ownsConnection)
    {
        _domain = domain;
        _ownsConnection = ownsConnection;
    }

    /// <summary>Connects to libvirt at <paramref name="uri"/> and looks the domain up by name.</summary>
    public static LibvirtHotplug Open(string uri, string domainName)
    {
        LibvirtConnection connection;
        try { connection = LibvirtConnection.Open(uri); }
        catch (LibvirtException e) { throw new VmHotplugException(e.Message, ExitCodes.Unavailable, e); }
        try
        {
            return For(connection, domainName, ownsConnection: true);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>As <see cref="Open"/>, off the caller's thread (connecting can take a while).</summary>
    public static Task<LibvirtHotplug> OpenAsync(string uri, string domainName, CancellationToken cancellationToken) =>
        Task.Run(() => Open(uri, domainName), cancellationToken);

    /// <summary>The domain on a connection someone else owns (the lifecycle follower's).</summary>
    internal static LibvirtHotplug For(LibvirtConnection connection, string domainName, bool ownsConnection = false)
    {
        LibvirtDomain? domain;
        try { domain = connection.FindDomain(domainName); }
        catch (LibvirtException e) { throw new VmHotplugException(e.Message, ExitCodes.Unavailable, e); }
        return domain is null
            ? throw new VmHotplugException($"libvirt at {connection.Uri} has no domain '{domainName}' ('virsh -c {connection.Uri} list --all' lists them)")
            : new LibvirtHotplug(domain, ownsConnection);
    }

    public string Description => $"libvirt domain {_domain.Name} on {_domain.Connection.Uri}";

    public Task<int> QemuPidAsync(CancellationToken cancellationToken) => Run(() =>
    {
        RequireRunning();
        return DomainQemuPid.Find(_domain.Name)
            ?? throw new VmHotplugException($"{Description} runs, but no QEMU process with -name {_domain.Name} is visible to this process");
    }, cancellationToken);

    public Task<bool> HasDeviceAsync(RegionOptions region, CancellationToken cancellationToken) =>
        Run(() => _domain.IsActive() && LiveDomainXml.Parse(_domain.LiveXml()).Shmem(region.Name) is not null, cancellationToken);

    public Task AttachAsync(RegionOptions region, CancellationToken cancellationToken) => Run(() =>
    {
        RequireRunning();
        var live = LiveDomainXml.Parse(_domain.LiveXml());
        if (live.Shmem(region.Name) is not null)
            return true;
        // q35: libvirt would look for a conventional PCI slot, which a q35 domain rarely has free; an
        // empty root port takes the device (docs/libvirt.md, "Hot-plug on q35").
        int? bus = live.FreeRootPort(region.SizeBytes);
        try
        {
            _domain.AttachLive(LibvirtShmemXml.For(region, bus));
        }
        catch (LibvirtException e)
        {
            string hint = bus is null
                ? "; a q35 domain needs an empty pcie-root-port for each device attached while it runs (docs/libvirt.md, \"Hot-plug on q35\")"
                : "";
            throw new VmHotplugException($"{Description}: region '{region.Name}': {e.Message}{hint}", ExitCodes.Failure, e);
        }
        return true;
    }, cancellationToken);

    public async Task DetachAsync(RegionOptions region, TimeSpan timeout, CancellationToken cancellationToken)
    {
        LiveShmem? device = await Run(() => _domain.IsActive() ? LiveDomainXml.Parse(_domain.LiveXml()).Shmem(region.Name) : null, cancellationToken).ConfigureAwait(false);
        if (device is null)
            return;
        // Subscribe before asking: the removal can complete, and its event be sent, before the call returns.
        var removed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using LibvirtConnection.Subscription subscription = await Run(() => _domain.Connection.OnDeviceRemoved(_domain, (_, alias) =>
        {
            if (alias == device.Alias) removed.TrySetResult();
        }), cancellationToken).ConfigureAwait(false);
        // The timeout counts from the request; libvirt's own wait inside the call (up to 5 s) cannot be
        // cut short, so a shorter timeout ends only after it (docs/libvirt.md, "Detach").
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await Run(() => { _domain.DetachLive(device.Xml); return true; }, cancellationToken).ConfigureAwait(false);

        while (!removed.Task.IsCompleted)
        {
            try { await removed.Task.WaitAsync(DetachPoll, deadline.Token).ConfigureAwait(false); }
            catch (TimeoutException) { }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new VmHotplugException($"{Description}: the guest did not release region '{region.Name}''s device ({device.Alias}) within {timeout.TotalSeconds:0.#} s; libvirt's request stands and the removal may still complete (docs/libvirt.md, \"Detach\")");
            }
            // The event is lost if the connection broke meanwhile; the live definition is the truth.
            if (!removed.Task.IsCompleted && !await HasDeviceAsync(region, cancellationToken).ConfigureAwait(false))
                break;
        }
    }

    private void RequireRunning()
    {
        if (!_domain.IsActive())
            throw new VmHotplugException($"{Description} is not running");
    }

    /// <summary>Runs blocking libvirt calls on the thread pool; their failures become <see cref="VmHotplugException"/>s.</summary>
    private Task<T> Run<T>(Func<T> call, CancellationToken cancellationToken) => Task.Run(() =>
    {
        try { return call(); }
        catch (LibvirtException e) { throw new VmHotplugException(e.Message, ExitCodes.Failure, e); }
    }, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _domain.Dispose();
        if (_ownsConnection) _domain.Connection.Dispose();
        return ValueTask.CompletedTask;
    }
}
