using System.Text.Json.Serialization;

namespace Ivshmem.Daemon.Vm;

// The arguments of the QMP commands QmpHotplug sends, exactly as QEMU 7.2 takes them
// (docs/migration.md, "QMP").

/// <summary><c>chardev-add</c> of a client socket to a UNIX path.</summary>
internal sealed record ChardevAddArguments(string Id, ChardevBackend Backend)
{
    public static ChardevAddArguments UnixClient(string id, string path) =>
        new(id, new ChardevBackend("socket", new SocketBackend(new SocketAddress("unix", new UnixAddress(path)), Server: false)));
}

internal sealed record ChardevBackend(string Type, SocketBackend Data);

internal sealed record SocketBackend(SocketAddress Addr, bool Server);

internal sealed record SocketAddress(string Type, UnixAddress Data);

internal sealed record UnixAddress(string Path);

/// <summary><c>device_add</c> of an ivshmem-doorbell on a bus.</summary>
internal sealed record DeviceAddArguments(string Driver, string Id, string Chardev, int Vectors, string Bus);

/// <summary><c>device_del</c>, <c>chardev-remove</c>: just an id.</summary>
internal sealed record IdArguments(string Id);

/// <summary><c>getfd</c>, <c>closefd</c>: the name QEMU keeps a passed fd under.</summary>
internal sealed record FdNameArguments(string Fdname);

/// <summary><c>qom-list</c> of a QOM path.</summary>
internal sealed record PathArguments(string Path);

/// <summary><c>qom-get</c> of one property of a QOM path.</summary>
internal sealed record PropertyArguments(string Path, string Property);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ChardevAddArguments))]
[JsonSerializable(typeof(DeviceAddArguments))]
[JsonSerializable(typeof(IdArguments))]
[JsonSerializable(typeof(PathArguments))]
[JsonSerializable(typeof(FdNameArguments))]
[JsonSerializable(typeof(PropertyArguments))]
internal sealed partial class QmpJson : JsonSerializerContext;
