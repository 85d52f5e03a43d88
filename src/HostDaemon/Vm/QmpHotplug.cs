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
        catch (QmpException e) { throw AsHotplugFailure(e); }
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
            string chardev = QemuArguments.ChardevId(region);
            // A chardev without its device: what an earlier attach whose device_add failed may leave.
            if (await HasChardevAsync(chardev, cancellationToken).ConfigureAwait(false))
                await _qmp.ExecuteAsync("chardev-remove", new IdArguments(chardev), QmpJson.Default.IdArguments, cancellationToken).ConfigureAwait(false);
            await _qmp.ExecuteAsync("chardev-add", ChardevAddArguments.UnixClient(chardev, region.SocketPath), QmpJson.Default.ChardevAddArguments, cancellationToken).ConfigureAwait(false);
            var device = new DeviceAddArguments("ivshmem-doorbell", QemuArguments.DeviceId(region), chardev, region.Vectors, QemuArguments.RootPortId(region));
            try
            {
                // Synchronous: realize connects and reads the server's set-up messages before QEMU answers.
                await _qmp.ExecuteAsync("device_add", device, QmpJson.Default.DeviceAddArguments, cancellationToken).ConfigureAwait(false);
            }
            catch (QmpException e) when (e.Failure == QmpFailure.CommandFailed)
            {
                // Nothing of the device is left; the chardev goes too, so that the next attach starts clean.
                try { await _qmp.ExecuteAsync("chardev-remove", new IdArguments(chardev), QmpJson.Default.IdArguments, cancellationToken).ConfigureAwait(false); }
                catch (QmpException) { /* the error that matters is device_add's */ }
                string hint = e.Description?.Contains($"Bus '{device.Bus}' not found", StringComparison.Ordinal) == true
                    ? $" (the VM has no root port '{device.Bus}': start it with the options of 'ivshmemd qemu-args', or 'qemu-args --no-device' for the ports alone)"
                    : "";
                throw new VmHotplugException($"{Description}: {e.Message}{hint}");
            }
        });

    public Task DetachAsync(RegionOptions region, TimeSpan timeout, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            string id = QemuArguments.DeviceId(region);
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
        });

    private async Task<T> Guarded<T>(Func<Task<T>> action)
    {
        try { return await action().ConfigureAwait(false); }
        catch (QmpException e) { throw AsHotplugFailure(e); }
    }

    private async Task Guarded(Func<Task> action)
    {
        try { await action().ConfigureAwait(false); }
        catch (QmpException e) { throw AsHotplugFailure(e); }
    }

    /// <summary>A QMP failure in the words and exit status of a hot-plug command: a VM that is not
    /// there (no socket, nobody listening, no answer, it exited) is EX_UNAVAILABLE.</summary>
    private static VmHotplugException AsHotplugFailure(QmpException e) => new(e.Message, e.Failure switch
    {
        QmpFailure.NoSocket or QmpFailure.NoAnswer or QmpFailure.Closed => ExitCodes.Unavailable,
        QmpFailure.NoPermission => ExitCodes.NoPermission,
        _ => ExitCodes.Failure,
    }, e);

    public ValueTask DisposeAsync() => _qmp.DisposeAsync();
}
