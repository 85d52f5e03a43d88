namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>What one region entry yielded: the options when it was valid, and the positions of the
/// values that must be unique across regions (reported by <see cref="DaemonOptionsReader"/>).</summary>
internal sealed record ParsedRegion(
    RegionOptions? Options,
    string? Name, SourceMark NameAt,
    string? SocketPath, SourceMark SocketAt, bool SocketIsDefault,
    string? ShmFilePath, SourceMark ShmFileAt, bool ShmFileIsDefault);

/// <summary>Reads and checks one entry of 'regions'.</summary>
internal static class RegionReader
{
    public static ParsedRegion? Read(ConfigNode node, string runtimeDirectory, NodeReader read)
    {
        ConfigMapping? map = read.Mapping(node, "a region", "start it with '- name: NAME' and indent its other keys under 'name'");
        if (map is null)
            return null;
        ConfigErrorSink errors = read.Errors;
        int errorsBefore = errors.Count;

        // The name first, so the messages below can say which region they are about.
        string? name = null;
        SourceMark nameAt = map.Start;
        if (map.Find(ConfigKeys.Name) is { } nameEntry)
        {
            nameAt = nameEntry.Value.Start;
            name = read.RequiredText(nameEntry.Value, ConfigKeys.Name, "web-db");
            if (name is not null && !NameRules.IsValidRegionName(name))
            {
                errors.Add(nameAt, $"region name '{name}' is not valid; {NameRules.RegionNameRule}");
                name = null;
            }
        }
        else
        {
            errors.Add(map.Start, "region has no 'name'; add one, e.g. 'name: web-db' (it names the socket and the QEMU chardev)");
        }
        string where = name is null ? "in this region" : $"in region '{name}'";
        read.CheckKeys(map, ConfigKeys.Region, where);

        long? size = null;
        SourceMark sizeAt = map.Start;
        if (map.Find(ConfigKeys.Size) is { } sizeEntry)
        {
            sizeAt = sizeEntry.Value.Start;
            size = RegionSizeChecks.RegionSize(read.Size(sizeEntry.Value, ConfigKeys.Size), sizeEntry.Value, errors);
            if (size is null && sizeEntry.Value is ConfigScalar { IsNull: true })
                errors.Add(sizeAt, "'size' has no value; give the region size, e.g. 'size: 64M' (a power of two, at least 64K)");
        }
        else
        {
            errors.Add(map.Start, $"region{Named(name)} has no 'size'; add one, e.g. 'size: 64M' (a power of two from 64K to 1T)");
        }

        RegionBacking backing = RegionBacking.Memfd;
        if (map.Find(ConfigKeys.Backing) is { } backingEntry && read.Text(backingEntry.Value, ConfigKeys.Backing) is { } backingText)
        {
            if (ConfigKeys.Backings.TryGetValue(backingText, out var parsed))
                backing = parsed;
            else
                errors.Add(backingEntry.Value.Start, $"unknown backing '{backingText}'; valid backings: {string.Join(", ", ConfigKeys.Backings.Keys)}");
        }

        long? hugePageSize = ReadBackingSpecific(map, ConfigKeys.HugePageSize, RegionBacking.Hugetlbfs, backing, read,
            n => RegionSizeChecks.HugePageSize(read.Size(n, ConfigKeys.HugePageSize), size, n, errors));
        string? hugetlbfsMount = ReadBackingSpecific(map, ConfigKeys.HugetlbfsMount, RegionBacking.Hugetlbfs, backing, read,
            n => read.AbsolutePath(n, ConfigKeys.HugetlbfsMount));
        SourceMark shmFileAt = map.Find(ConfigKeys.ShmFile)?.Value.Start ?? nameAt;
        string? shmFile = ReadBackingSpecific(map, ConfigKeys.ShmFile, RegionBacking.ShmFile, backing, read,
            n => read.AbsolutePath(n, ConfigKeys.ShmFile));
        if (backing == RegionBacking.Hugetlbfs)
            hugetlbfsMount ??= DefaultPaths.HugetlbfsMount;
        if (backing == RegionBacking.ShmFile && name is not null)
            shmFile ??= DefaultPaths.ShmFilePrefix + name;

        int vectors = ConfigLimits.DefaultVectors;
        if (map.Find(ConfigKeys.Vectors) is { } vectorsEntry)
            vectors = read.Integer(vectorsEntry.Value, ConfigKeys.Vectors, ConfigLimits.MinVectors, ConfigLimits.MaxVectors,
                "the Doorbell register reaches 256 vectors, but the reference ivshmem-server caps at 64 and each vector costs every peer an eventfd per peer")
                ?? vectors;

        string? socketPath = null;
        SourceMark socketAt = nameAt;
        ConfigNode? socketNode = map.Find(ConfigKeys.Socket)?.Value;
        if (socketNode is not null and not ConfigScalar { IsNull: true })
        {
            socketAt = socketNode.Start;
            socketPath = read.SocketPath(socketNode, ConfigKeys.Socket);
        }
        else if (name is not null)
        {
            string defaultPath = Path.Combine(runtimeDirectory, name + ".sock");
            if (read.CheckSocketPathLength(defaultPath, nameAt, $"the default socket path of region '{name}', '{defaultPath}', is",
                    "set a shorter 'socket' for the region or a shorter 'runtime_directory'"))
                socketPath = defaultPath;
        }

        UnixFileMode socketMode = ConfigLimits.DefaultSocketMode;
        if (map.Find(ConfigKeys.SocketMode) is { } modeEntry)
            socketMode = read.SocketMode(modeEntry.Value, ConfigKeys.SocketMode) ?? socketMode;
        string? socketOwner = map.Find(ConfigKeys.SocketOwner) is { } ownerEntry ? read.AccountName(ownerEntry.Value, ConfigKeys.SocketOwner) : null;
        string? socketGroup = map.Find(ConfigKeys.SocketGroup) is { } groupEntry ? read.AccountName(groupEntry.Value, ConfigKeys.SocketGroup) : null;

        int errorsBeforeLists = errors.Count;
        IReadOnlyList<string> vms = map.Find(ConfigKeys.Vms) is { } vmsEntry
            ? read.NameList(vmsEntry.Value, ConfigKeys.Vms, "VM name", NameRules.VmNameProblem, "[web, db]") ?? []
            : [];
        IReadOnlyList<string> hostUsers = map.Find(ConfigKeys.HostUsers) is { } hostEntry
            ? read.NameList(hostEntry.Value, ConfigKeys.HostUsers, "user name", NameRules.IsValidAccountName, NameRules.AccountNameRule, "[bench]") ?? []
            : [];
        if (vms.Count == 0 && hostUsers.Count == 0 && errors.Count == errorsBeforeLists)
            errors.Add(map.Start, $"region{Named(name)} admits no peers; list the QEMU -names under 'vms' (e.g. 'vms: [web, db]') and/or users under 'host_users'");
        (IReadOnlyList<string> allowUsers, IReadOnlyList<string> allowGroups) = map.Find(ConfigKeys.Allow) is { } allowEntry
            ? ReadAllow(allowEntry.Value, where, read)
            : ([], []);

        int wanted = vms.Count + hostUsers.Count;
        int maxPeers = Math.Max(ConfigLimits.MinPeers, wanted);
        SourceMark maxPeersAt = map.Start;
        if (map.Find(ConfigKeys.MaxPeers) is { } maxPeersEntry)
        {
            maxPeersAt = maxPeersEntry.Value.Start;
            int? given = read.Integer(maxPeersEntry.Value, ConfigKeys.MaxPeers, ConfigLimits.MinPeers, ConfigLimits.MaxPeers,
                "the region's peer table has 64 slots at most");
            if (given is { } g && g < vms.Count)
                errors.Add(maxPeersAt, $"'max_peers' is {g} but 'vms' lists {vms.Count} VMs; raise it to at least {vms.Count} so every VM can join");
            maxPeers = given ?? maxPeers;
        }
        else if (wanted > ConfigLimits.MaxPeers)
        {
            errors.Add(map.Start, $"region{Named(name)} lists {wanted} peers in 'vms' and 'host_users'; a region has at most {ConfigLimits.MaxPeers} peer slots, so split it into several regions");
        }

        if (size is { } regionSize && maxPeers is >= ConfigLimits.MinPeers and <= ConfigLimits.MaxPeers)
            RegionSizeChecks.LayoutFits(regionSize, maxPeers, sizeAt, errors);

        bool valid = errors.Count == errorsBefore && name is not null && size is not null && socketPath is not null;
        RegionOptions? options = valid
            ? new RegionOptions
            {
                Name = name!,
                SizeBytes = size!.Value,
                Backing = backing,
                HugePageSizeBytes = hugePageSize,
                HugetlbfsMount = hugetlbfsMount,
                ShmFilePath = shmFile,
                Vectors = vectors,
                SocketPath = socketPath!,
                SocketMode = socketMode,
                SocketOwner = socketOwner,
                SocketGroup = socketGroup,
                MaxPeers = maxPeers,
                Vms = vms,
                HostUsers = hostUsers,
                AllowUsers = allowUsers,
                AllowGroups = allowGroups,
            }
            : null;
        return new ParsedRegion(options, name, nameAt,
            socketPath, socketAt, SocketIsDefault: socketNode is null or ConfigScalar { IsNull: true },
            shmFile, shmFileAt, ShmFileIsDefault: map.Find(ConfigKeys.ShmFile) is null);
    }

    private static string Named(string? name) => name is null ? "" : $" '{name}'";

    private static T? ReadBackingSpecific<T>(ConfigMapping map, string key, RegionBacking requires, RegionBacking actual,
        NodeReader read, Func<ConfigNode, T?> readValue)
    {
        if (map.Find(key) is not { } entry)
            return default;
        if (actual != requires)
        {
            read.Errors.Add(entry.Key.Start,
                $"'{key}' only applies to 'backing: {ConfigKeys.Spelling(requires)}', but this region's backing is {ConfigKeys.Spelling(actual)}; remove '{key}' or set 'backing: {ConfigKeys.Spelling(requires)}'");
            return default;
        }
        return readValue(entry.Value);
    }

    private static (IReadOnlyList<string> Users, IReadOnlyList<string> Groups) ReadAllow(ConfigNode node, string where, NodeReader read)
    {
        if (node is ConfigScalar { IsNull: true })
            return ([], []);
        ConfigMapping? map = read.Mapping(node, "'allow'", "write e.g. 'allow: { users: [libvirt-qemu], groups: [kvm] }'");
        if (map is null)
            return ([], []);
        read.CheckKeys(map, ConfigKeys.AllowSection, $"in 'allow' {where}");
        IReadOnlyList<string> users = map.Find(ConfigKeys.AllowUsers) is { } u
            ? read.NameList(u.Value, ConfigKeys.AllowUsers, "user name", NameRules.IsValidAccountName, NameRules.AccountNameRule, "[libvirt-qemu]") ?? []
            : [];
        IReadOnlyList<string> groups = map.Find(ConfigKeys.AllowGroups) is { } g
            ? read.NameList(g.Value, ConfigKeys.AllowGroups, "group name", NameRules.IsValidAccountName, NameRules.AccountNameRule, "[kvm]") ?? []
            : [];
        return (users, groups);
    }
}
