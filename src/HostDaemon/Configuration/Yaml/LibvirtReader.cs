namespace Ivshmem.Daemon.Configuration.Yaml;

/// <summary>Reads the optional top-level <c>libvirt</c> section.</summary>
internal static class LibvirtReader
{
    private const string Example = "'libvirt: {uri: qemu:///system, follow: true}'";

    /// <summary>The section's options; null when it is absent, YAML null, or has errors (reported).</summary>
    public static LibvirtOptions? Read(ConfigNode node, NodeReader read)
    {
        if (node is ConfigScalar { IsNull: true })
            return null;
        ConfigMapping? map = read.Mapping(node, "'libvirt'", $"write e.g. {Example}");
        if (map is null)
            return null;
        read.CheckKeys(map, ConfigKeys.LibvirtSection, "in 'libvirt'");
        int errorsBefore = read.Errors.Count;

        string uri = LibvirtOptions.DefaultUri;
        if (map.Find(ConfigKeys.LibvirtUri) is { } uriEntry && read.Text(uriEntry.Value, ConfigKeys.LibvirtUri) is { } text)
        {
            // A libvirt URI is DRIVER[+TRANSPORT]://[HOST]/PATH[?PARAMS]: qemu:///system, qemu+ssh://host/system.
            if (text.Contains("://", StringComparison.Ordinal) && !text.Any(char.IsWhiteSpace))
                uri = text;
            else
                read.Errors.Add(uriEntry.Value.Start, $"'{ConfigKeys.LibvirtUri}' '{text}' is not a libvirt connection URI; write e.g. 'qemu:///system' (the system instance) or 'qemu:///session'");
        }

        bool follow = false;
        if (map.Find(ConfigKeys.LibvirtFollow) is { } followEntry && read.Boolean(followEntry.Value, ConfigKeys.LibvirtFollow) is { } value)
            follow = value;

        return read.Errors.Count > errorsBefore ? null : new LibvirtOptions(uri, follow);
    }
}
