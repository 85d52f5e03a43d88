using System.Text.Json;

namespace Ivshmem.Agent.Net;

/// <summary>'net status': the control loop answers, so that what it owns (states, routes) is read
/// by the thread that writes it; the counters are read as they are.</summary>
internal sealed partial class NetAgent
{
    /// <summary>Called by the status socket's thread: waits for the next tick to build the answer.</summary>
    private string RequestStatus()
    {
        var request = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_statusRequests) _statusRequests.Enqueue(request);
        WakeControl();
        return request.Task.Wait(TimeSpan.FromSeconds(5)) ? request.Task.Result : throw new TimeoutException("net's control loop did not answer");
    }

    private void AnswerStatusRequests()
    {
        lock (_statusRequests)
        {
            if (_statusRequests.Count == 0) return;
            string status = StatusJson();
            while (_statusRequests.TryDequeue(out var request)) request.TrySetResult(status);
        }
    }

    /// <summary>The status document (docs/guest.md, "net status" lists its fields).</summary>
    private string StatusJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("tun", _tun.Name);
            json.WriteNumber("ifindex", _tunIndex);
            json.WriteNumber("mtu", Mtu);
            json.WriteBoolean("offload", _tun.Offload);
            json.WriteString("wait_mode", Cli.CommonOptions.WaitModeName(_options.WaitMode));
            NetPlane? plane = _plane;
            // Without a device: the same document, no peers, and what net waits for.
            json.WriteString("device", plane is null ? _waitingFor : "attached");
            json.WriteString("name", plane?.Self.Name ?? "");
            json.WriteNumber("id", plane?.Self.PeerId ?? -1);
            json.WriteString("instance", plane is null ? "" : $"{plane.Instance:x16}");
            Strings(json, "addresses", _announced.Select(a => a.ToString()));
            json.WriteNumber("unroutable_packets", plane is null ? 0 : Volatile.Read(ref plane.Unroutable));
            json.WriteNumber("packet_threads_allocated_bytes", plane is null ? 0 : Volatile.Read(ref plane.SenderAllocated) + Volatile.Read(ref plane.ReceiverAllocated));
            json.WriteStartArray("peers");
            foreach (PeerLink link in plane?.Links ?? [])
            {
                if (link.Retired) continue;
                json.WriteStartObject();
                json.WriteString("name", link.Peer.Name);
                json.WriteNumber("id", link.Peer.PeerId);
                json.WriteNumber("slot", link.Peer.Slot);
                json.WriteString("state", link.State);
                json.WriteString("reason", link.Reason);
                Strings(json, "addresses", link.Accepted.Select(a => a.ToString()));
                Strings(json, "refused", link.Refused);
                Strings(json, "routes", link.Routes.Values.Select(r => r.ToString()));
                Direction(json, "to_peer", Volatile.Read(ref link.ToPeerPackets), Volatile.Read(ref link.ToPeerBytes));
                Direction(json, "from_peer", Volatile.Read(ref link.FromPeerPackets), Volatile.Read(ref link.FromPeerBytes));
                json.WriteStartObject("dropped");
                json.WriteNumber("down", Volatile.Read(ref link.DroppedDown));
                json.WriteNumber("stalled", Volatile.Read(ref link.DroppedStalled));
                json.WriteNumber("too_big", Volatile.Read(ref link.DroppedTooBig));
                json.WriteNumber("invalid", Volatile.Read(ref link.DroppedInvalid));
                json.WriteNumber("refused_by_kernel", Volatile.Read(ref link.DroppedByKernel));
                json.WriteEndObject();
                json.WriteNumber("stalls", Volatile.Read(ref link.Stalls));
                json.WriteNumber("foreign_records", Volatile.Read(ref link.ForeignRecords));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void Strings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (string value in values) json.WriteStringValue(value);
        json.WriteEndArray();
    }

    private static void Direction(Utf8JsonWriter json, string name, long packets, long bytes)
    {
        json.WriteStartObject(name);
        json.WriteNumber("packets", packets);
        json.WriteNumber("bytes", bytes);
        json.WriteEndObject();
    }
}
