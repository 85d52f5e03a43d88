namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>Reads the top level of the configuration and checks what must be unique across regions.</summary>
internal static class DaemonOptionsReader
{
    public static DaemonOptions? Read(ConfigNode root, string sourcePath, string defaultRuntimeDirectory, ConfigErrorSink errors)
    {
        var read = new NodeReader(errors);
        if (root is not ConfigMapping map)
        {
            errors.Add(root.Start, $"the configuration must be a mapping with the keys {string.Join(", ", ConfigKeys.TopLevel)}, not {root.KindForMessages}; start with 'regions:'");
            return null;
        }
        read.CheckKeys(map, ConfigKeys.TopLevel, "at the top level");

        string runtimeDirectory = map.Find(ConfigKeys.RuntimeDirectory) is { } rtEntry
            ? read.AbsolutePath(rtEntry.Value, ConfigKeys.RuntimeDirectory) ?? defaultRuntimeDirectory
            : defaultRuntimeDirectory;

        // Each region's next peer id is kept here (docs/protocol.md, "Peer ids"); null: under the
        // runtime directory (DaemonOptions.StateDirectoryPath).
        string? stateDirectory = map.Find(ConfigKeys.StateDirectory) is { } stateEntry
            ? read.AbsolutePath(stateEntry.Value, ConfigKeys.StateDirectory)
            : DefaultPaths.StateDirectoryFromEnvironment();

        string? controlSocket = null;
        SourceMark controlSocketAt = map.Find(ConfigKeys.RuntimeDirectory)?.Value.Start ?? map.Start;
        ConfigNode? controlNode = map.Find(ConfigKeys.ControlSocket)?.Value;
        bool controlSocketIsDefault = controlNode is null or ConfigScalar { IsNull: true };
        if (controlNode is not null && !controlSocketIsDefault)
        {
            controlSocketAt = controlNode.Start;
            controlSocket = read.SocketPath(controlNode, ConfigKeys.ControlSocket);
        }
        else
        {
            string defaultPath = Path.Combine(runtimeDirectory, DefaultPaths.ControlSocketFileName);
            if (read.CheckSocketPathLength(defaultPath, controlSocketAt, $"the default control socket path '{defaultPath}' is",
                    "set a shorter 'control_socket' or a shorter 'runtime_directory'"))
                controlSocket = defaultPath;
        }

        string? controlGroup = map.Find(ConfigKeys.ControlGroup) is { } groupEntry
            ? read.AccountName(groupEntry.Value, ConfigKeys.ControlGroup)
            : null;

        MetricsOptions? metrics = map.Find(ConfigKeys.Metrics) is { } metricsEntry
            ? MetricsReader.Read(metricsEntry.Value, read)
            : null;

        LibvirtOptions? libvirt = map.Find(ConfigKeys.Libvirt) is { } libvirtEntry
            ? LibvirtReader.Read(libvirtEntry.Value, read)
            : null;

        var regions = new List<RegionOptions>();
        bool regionsValid = true;
        if (map.Find(ConfigKeys.Regions) is not { } regionsEntry)
        {
            errors.Add(map.Start, "the configuration has no 'regions'; add a list of regions, e.g. 'regions: [{name: web-db, size: 64M, vms: [web, db]}]'");
            regionsValid = false;
        }
        else if (regionsEntry.Value.AlreadyReported)
        {
            regionsValid = false;
        }
        else if (regionsEntry.Value is not ConfigSequence sequence)
        {
            errors.Add(regionsEntry.Value.Start, $"'regions' must be a list of regions, each item starting with '- name: ...', not {regionsEntry.Value.KindForMessages}");
            regionsValid = false;
        }
        else if (sequence.Items.Count == 0)
        {
            errors.Add(sequence.Start, "'regions' is empty; list at least one region, e.g. '- {name: web-db, size: 64M, vms: [web, db]}'");
            regionsValid = false;
        }
        else
        {
            var parsed = sequence.Items.Select(item => RegionReader.Read(item, runtimeDirectory, read)).ToList();
            CheckUnique(parsed, controlSocket, controlSocketIsDefault ? null : controlSocketAt, errors);
            regionsValid = parsed.All(p => p?.Options is not null);
            regions.AddRange(parsed.Select(p => p?.Options).OfType<RegionOptions>());
        }

        if (errors.HasErrors || !regionsValid || controlSocket is null)
            return null;
        return new DaemonOptions
        {
            RuntimeDirectory = runtimeDirectory,
            StateDirectory = stateDirectory,
            ControlSocketPath = controlSocket,
            ControlSocketGroup = controlGroup,
            Metrics = metrics,
            Libvirt = libvirt,
            Regions = regions,
            SourcePath = sourcePath,
        };
    }

    /// <summary>Names, socket paths and shm-file paths are each one region's own: two regions on one
    /// socket could not tell their peers apart, and two on one file would share memory by accident.</summary>
    /// <param name="controlSocketAt">where control_socket is set; null when it is the default.</param>
    private static void CheckUnique(IReadOnlyList<ParsedRegion?> regions, string? controlSocket, SourceMark? controlSocketAt, ConfigErrorSink errors)
    {
        var names = new Dictionary<string, SourceMark>(StringComparer.Ordinal);
        var sockets = new Dictionary<string, (string Owner, string Where)>(StringComparer.Ordinal);
        var shmFiles = new Dictionary<string, (string Owner, string Where)>(StringComparer.Ordinal);
        if (controlSocket is not null)
            sockets.Add(controlSocket, controlSocketAt is { } at
                ? ("the control socket", $"set at {at}")
                : ("the control socket", $"by default <runtime_directory>/{DefaultPaths.ControlSocketFileName}"));

        foreach (var region in regions.OfType<ParsedRegion>())
        {
            bool duplicateName = region.Name is { } name && !names.TryAdd(name, region.NameAt);
            if (duplicateName)
                errors.Add(region.NameAt, $"region name '{region.Name}' is already used by the region at {names[region.Name!]}; give every region its own name (it names the socket and QEMU's chardev id)");

            string owner = region.Name is null ? "another region" : $"region '{region.Name}'";
            if (region.SocketPath is { } socket)
            {
                if (sockets.TryGetValue(socket, out var first))
                {
                    // A default path derived from a duplicate name is the same mistake; say it once.
                    if (!(duplicateName && region.SocketIsDefault))
                        errors.Add(region.SocketAt, $"socket '{socket}' is already {first.Owner} ({first.Where}); every region needs its own socket path");
                }
                else
                    sockets.Add(socket, ($"the socket of {owner}", $"at {region.SocketAt}"));
            }
            if (region.ShmFilePath is { } shmFile)
            {
                if (shmFiles.TryGetValue(shmFile, out var first))
                {
                    if (!(duplicateName && region.ShmFileIsDefault))
                        errors.Add(region.ShmFileAt, $"shm_file '{shmFile}' is already {first.Owner} ({first.Where}); every region needs its own file, or the two would share memory");
                }
                else
                    shmFiles.Add(shmFile, ($"the file of {owner}", $"at {region.ShmFileAt}"));
            }
        }
    }
}
