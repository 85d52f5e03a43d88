using System.Text.Json;
using Ivshmem.Daemon.Cli;
using Ivshmem.Daemon.Configuration;

namespace Ivshmem.Daemon.Vm;

/// <summary>
/// Hot-plug through a plain QEMU's QMP socket (docs/migration.md, "QMP"): attach is
/// <c>chardev-add</c> (a client socket to the region's socket) then <c>device_add</c> of an
/// ivshmem-doorbell on the region's root port; detach is <c>device_del</c>, the
/// <c>DEVICE_DELETED</c> event (the guest let go), then <c>chardev-remove</c>, which closes QEMU's
/// connection to the region. Ids and the port are those <c>ivshmemd qemu-args</c> prints.
/// </summary>
internal sealed class QmpHotplug : IVmHotplug
{
    private const string PeripheralPath = "/machine/peripheral";
    private readonly QmpClient _qmp;

    private QmpHotplug(QmpClient qmp) => _qmp = qmp;

    /// <summary>Connects to the QMP socket at <paramref name="path"/>; <paramref name="timeout"/>
    /// bounds every answer.</summary>
    public static async Task<QmpHotplug> ConnectAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try { return new QmpHotplug(await QmpClient.ConnectAsync(path, timeout, cancellationToken).ConfigureAwait(false)); }
        catch (QmpException e) { throw AsHotplugFailure(e, path); }
    }

    public string Description => $"QMP socket {_qmp.Path}";

    public Task<int> QemuPidAsync(CancellationToken cancellationToken) => Task.FromResult(_qmp.PeerPid);

    public Task<bool> HasDeviceAsync(RegionOptions region, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            string id = QemuArguments.DeviceId(region);
            JsonElement children = await _qmp.ExecuteAsync("qom-list", new PathArguments(PeripheralPath), QmpJson.Default.PathArguments, cancellationToken).ConfigureAwait(false);
            foreach (JsonElement child in children.ValueKind == JsonValueKind.Array ? children.EnumerateArray() : default)
            {
                if (child.ValueKind != JsonValueKind.Object || !child.TryGetProperty("name", out JsonElement name) || name.GetString() != id)
                    continue;
                string type = child.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "";
                if (type != "child<ivshmem-doorbell>")
                    throw new VmHotplugException($"{Description}: QEMU has a device with id '{id}' that is not an ivshmem-doorbell ({type}); it is not ivshmemd's");
                return true;
            }
            return false;
        });

    /// <summary>Whether QEMU has the region's chardev (left behind by a device that is gone).</summary>
    private async Task<bool> HasChardevAsync(string id, CancellationToken cancellationToken)
    {
        JsonElement chardevs = await _qmp.ExecuteAsync("query-chardev", cancellationToken).ConfigureAwait(false);
        foreach (JsonElement chardev in chardevs.ValueKind == JsonValueKind.Array ? chardevs.EnumerateArray() : default)
            if (chardev.ValueKind == JsonValueKind.Object && chardev.TryGetProperty("label", out JsonElement label) && label.GetString() == id)
                return true;
        return false;
    }

    public Task AttachAsync(RegionOptions region, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            // Before QEMU connects to the region: a connection that comes and goes looks to the daemon
            // like a device that was unplugged (docs/migration.md, "Re-attaching into the same QEMU process").
            await CheckRootPortAsync(region, cancellationToken).ConfigureAwait(false);
            string chardev = QemuArguments.ChardevId(region);
            // A chardev without its device: what an earlier attach whose device_add failed may leave.
            if (await HasChardevAsync(chardev, cancellationToken).ConfigureAwait(false))
                await _qmp.ExecuteAsync("chardev-remove", new IdArguments(chardev), QmpJson.Default.IdArguments, cancellationToken).ConfigureAwait(false);
            await _qmp.ExecuteAsync("chardev-add", ChardevAddArguments.UnixClient(chardev, region.SocketPath), QmpJson.Default.ChardevAddArguments, cancellationToken).ConfigureAwait(false);
            var device = new DeviceAddArguments("ivshmem-doorbell", QemuArguments.DeviceId(region), chardev, region.Vectors, QemuArguments.RootPortId(region));
            try
            {
                // Synchronous: realize reads the daemon's set-up messages (the chardev connected at
                // chardev-add) up to the memory before QEMU answers.
                await _qmp.ExecuteAsync("device_add", device, QmpJson.Default.DeviceAddArguments, cancellationToken).ConfigureAwait(false);
            }
            catch (QmpException e) when (e.Failure == QmpFailure.CommandFailed)
            {
                // Nothing of the device is left; the chardev goes too, so that the next attach starts clean.
                try { await _qmp.ExecuteAsync("chardev-remove", new IdArguments(chardev), QmpJson.Default.IdArguments, cancellationToken).ConfigureAwait(false); }
                catch (QmpException) { /* the error that matters is device_add's */ }
                throw new VmHotplugException($"{Description}: {e.Message}");
            }
        });

    /// <summary>The region's root port must exist and be empty: the VM was started with the ports of
    /// <c>ivshmemd qemu-args</c>, and nothing else took the port. Asked through QOM (the port's bus
    /// object lists its devices as links): query-pci shows what is behind a port only after the
    /// guest's firmware numbered the buses.</summary>
    private async Task CheckRootPortAsync(RegionOptions region, CancellationToken cancellationToken)
    {
        string port = QemuArguments.RootPortId(region);
        string bus = $"{PeripheralPath}/{port}/{port}"; // a bridge's bus is named after its device
        JsonElement children;
        try { children = await _qmp.ExecuteAsync("qom-list", new PathArguments(bus), QmpJson.Default.PathArguments, cancellationToken).ConfigureAwait(false); }
        catch (QmpException e) when (e.ErrorClass == "DeviceNotFound")
        {
            throw new VmHotplugException($"{Description}: the VM has no root port '{port}' for region '{region.Name}'. Start the VM with the options of " +
                "'ivshmemd qemu-args VM' (or 'qemu-args VM --no-device' for the ports alone); an i440fx machine (-M pc) has no root ports and cannot take the device while it runs");
        }
        foreach (JsonElement child in children.ValueKind == JsonValueKind.Array ? children.EnumerateArray() : default)
        {
            if (child.ValueKind != JsonValueKind.Object || child.TryGetProperty("name", out JsonElement name) is false
                || name.GetString() is not { } property || !property.StartsWith("child[", StringComparison.Ordinal))
                continue;
            JsonElement path = await _qmp.ExecuteAsync("qom-get", new PropertyArguments(bus, property), QmpJson.Default.PropertyArguments, cancellationToken).ConfigureAwait(false);
            string holder = path.ValueKind == JsonValueKind.String && path.GetString() is { } p && p.StartsWith(PeripheralPath + "/", StringComparison.Ordinal)
                ? $"device '{p[(PeripheralPath.Length + 1)..]}'" : "a device without an id";
            throw new VmHotplugException($"{Description}: root port '{port}' already holds {holder}; it is reserved for region '{region.Name}''s ivshmem device");
        }
    }

    public Task DetachAsync(RegionOptions region, TimeSpan timeout, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            string id = QemuArguments.DeviceId(region);
            HashSet<int> eventFdsBefore = RemovedDeviceFds.EventFds(_qmp.PeerPid);
            bool requested = true;
            try { await _qmp.ExecuteAsync("device_del", new IdArguments(id), QmpJson.Default.IdArguments, cancellationToken).ConfigureAwait(false); }
            catch (QmpException e) when (e.ErrorClass == "DeviceNotFound") { requested = false; } // gone already; its chardev may not be
            if (requested)
            {
                // device_del only asks the guest; the removal is complete when QEMU says so (docs/migration.md, "Detach").
                QmpEvent? deleted = await _qmp.WaitForEventAsync("DEVICE_DELETED",
                    data => data.ValueKind == JsonValueKind.Object && data.TryGetProperty("device", out JsonElement d) && d.GetString() == id,
                    timeout, cancellationToken).ConfigureAwait(false);
                if (deleted is null)
                    throw new VmHotplugException(
                        $"{Description}: the guest did not release device '{id}' within {timeout.TotalSeconds:0.#} s (no DEVICE_DELETED). " +
                        "The request stays pending in QEMU: the device goes when the guest lets go of it (or at its next reset). " +
                        "Run detach again to wait again, with a longer --timeout if the guest needs it.",
                        ExitCodes.TemporaryFailure);
            }
            string chardev = QemuArguments.ChardevId(region);
            if (await HasChardevAsync(chardev, cancellationToken).ConfigureAwait(false))
                await _qmp.ExecuteAsync("chardev-remove", new IdArguments(chardev), QmpJson.Default.IdArguments, cancellationToken).ConfigureAwait(false);
            // The device's eventfds are closed now; keep their numbers from being reused (QEMU 7.2's
            // stale vector handlers: docs/migration.md, "Re-attaching into the same QEMU process").
            eventFdsBefore.ExceptWith(RemovedDeviceFds.EventFds(_qmp.PeerPid));
            HeldFdNumbers += await RemovedDeviceFds.HoldAsync(_qmp, eventFdsBefore, $"ivshmemd-hold-{region.Name}-{Guid.NewGuid():N}"[..^24], cancellationToken).ConfigureAwait(false);
        });

    /// <summary>How many fd numbers of removed devices this detach made QEMU hold (see <see cref="RemovedDeviceFds"/>).</summary>
    public int HeldFdNumbers { get; private set; }

    private async Task<T> Guarded<T>(Func<Task<T>> action)
    {
        try { return await action().ConfigureAwait(false); }
        catch (QmpException e) { throw AsHotplugFailure(e, _qmp.Path); }
    }

    private async Task Guarded(Func<Task> action)
    {
        try { await action().ConfigureAwait(false); }
        catch (QmpException e) { throw AsHotplugFailure(e, _qmp.Path); }
    }

    /// <summary>A QMP failure in the words and exit status of a hot-plug command: a VM that is not
    /// there (no socket, nobody listening, no answer, it exited) is EX_UNAVAILABLE. QEMU's refusals
    /// get the socket in front, as the client's own failures have it.</summary>
    private static VmHotplugException AsHotplugFailure(QmpException e, string path) => new(
        e.Failure == QmpFailure.CommandFailed ? $"QMP socket {path}: {e.Message}" : e.Message, e.Failure switch
    {
        QmpFailure.NoSocket or QmpFailure.NoAnswer or QmpFailure.Closed => ExitCodes.Unavailable,
        QmpFailure.NoPermission => ExitCodes.NoPermission,
        _ => ExitCodes.Failure,
    }, e);

    public ValueTask DisposeAsync() => _qmp.DisposeAsync();
}
