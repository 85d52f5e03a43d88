using Ivshmem.Agent.Net;
using Ivshmem.Peer;
using Ivshmem.Peer.Guest;
using Ivshmem.Ring;

namespace Ivshmem.Agent.Cli;

/// <summary>
/// <c>ivshmem-agent net</c> in a guest, across its ivshmem device coming and going (docs/guest.md,
/// "When the device comes and goes"): net starts with the device that is there, or with none;
/// when the device is being unplugged it lets go of it (routes removed, the device released) and
/// waits, answering 'net status' with "waiting for an ivshmem device"; a device hot-added later is
/// seen through its uevent, bound, opened and joined, without a restart.
/// </summary>
internal static class NetDeviceLoop
{
    public static int Run(AgentContext context, NetOptions options, CancellationToken cancellationToken)
    {
        GuestDeviceOptions deviceOptions = context.GuestDeviceOptions();
        GuestDevice? endpoint = null;
        try
        {
            // A device there at the start is opened as every command opens it, and a failure is an
            // error, as it is for them; only devices that come later are waited for.
            IReadOnlyList<IvshmemDeviceInfo> present = PciDiscovery.FindIvshmemDevices(deviceOptions.SysfsRoot);
            if (deviceOptions.Device is { } wanted ? present.Any(d => d.Address == PciAddress.Parse(wanted)) : present.Count > 0)
                endpoint = GuestDevice.Open(deviceOptions);
            using NetAgent agent = NetAgent.Start(options, context.Report, endpoint?.Region.Geometry.MaxPayload);
            GuestAccess? lastAccess = endpoint?.Access;
            PciAddress? departed = null;
            string why = "waiting for an ivshmem device: there is none yet (it may be hot-added)";
            while (!cancellationToken.IsCancellationRequested)
            {
                if (endpoint is null)
                {
                    using DeviceArrival arrival = DeviceArrival.Start(deviceOptions.SysfsRoot, deviceOptions.Device, context.Note, departing: departed);
                    GuestAccess? access = lastAccess;
                    endpoint = agent.WaitForEndpoint(t => TryOpen(context, arrival, deviceOptions, access, t, cancellationToken), why, cancellationToken);
                    if (endpoint is null) break;
                    long addedAt = arrival.LastAddedAt;
                    try { agent.Attach(endpoint); }
                    catch (ArgumentException e)
                    {
                        context.Report($"cannot use the ivshmem device {endpoint.Info.Address}: {e.Message}; waiting for another");
                        // Not this one again until it is unplugged and added anew.
                        departed = endpoint.Info.Address;
                        endpoint.Dispose();
                        endpoint = null;
                        continue;
                    }
                    if (addedAt != 0)
                        context.Report($"{endpoint.Info.Address} opened ({endpoint.Access.ToString().ToLowerInvariant()}) and joined {System.Diagnostics.Stopwatch.GetElapsedTime(addedAt).TotalMilliseconds:0} ms after its uevent");
                }
                else
                {
                    agent.Attach(endpoint);
                }
                NetRunEnd end = agent.Run(cancellationToken);
                GuestDevice device = endpoint;
                lastAccess = device.Access;
                departed = device.Info.Address;
                // Unmaps every BAR and closes device, group and container: the unplug completes now.
                endpoint.Dispose();
                endpoint = null;
                if (end == NetRunEnd.Stopped) break;
                why = $"waiting for an ivshmem device: {device.Info.Address} was unplugged";
            }
            return ExitCodes.Ok;
        }
        finally
        {
            endpoint?.Dispose();
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for a device to arrive and opens it. A hot-added device
    /// is bound to vfio-pci when the command line asks for VFIO, when the device before it was
    /// used through VFIO, or (with neither) when the vfio-pci driver is loaded: the machine was set
    /// up for it. A device that cannot be opened is reported and the wait goes on.
    /// </summary>
    private static GuestDevice? TryOpen(AgentContext context, DeviceArrival arrival, GuestDeviceOptions options, GuestAccess? lastAccess,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (arrival.Wait(timeout, cancellationToken) is not { } found) return null;
        bool vfio = options.Access == GuestAccess.Vfio || options.Bind
            || (options.Access == GuestAccess.Auto && (lastAccess == GuestAccess.Vfio
                || (lastAccess is null && Directory.Exists(Path.Combine(options.SysfsRoot, "bus", "pci", "drivers", DriverBinder.VfioPci)))));
        try
        {
            return GuestDevice.Open(options with
            {
                Device = found.Address.ToString(),
                Access = vfio ? GuestAccess.Vfio : options.Access,
                Bind = vfio,
            });
        }
        catch (Exception e) when (e is IvshmemDeviceException or IvshmemException or IOException or UnauthorizedAccessException or FormatException)
        {
            context.Report($"cannot use the ivshmem device {found.Address}: {e.Message}; waiting for another");
            arrival.Ignore(found.Address);
            return null;
        }
    }
}
