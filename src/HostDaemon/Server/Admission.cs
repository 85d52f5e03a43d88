using Ivshmem.Daemon.Configuration;
using Ivshmem.Daemon.Vm;
using Ivshmem.Ring;

namespace Ivshmem.Daemon.Server;

/// <summary>Who a connecting process is, as far as the region is concerned.</summary>
internal readonly record struct AdmissionDecision(RefusalReason Refusal, PeerKind Kind, string Name, string Explanation)
{
    public bool Admitted => Refusal == RefusalReason.None;

    public static AdmissionDecision Refuse(RefusalReason reason, string why) => new(reason, PeerKind.Unknown, "", why);
}

/// <summary>
/// The admission rules of one region, with user and group names resolved once (when the region is
/// set up or reloaded). Credentials come from the kernel (SO_PEERCRED), never from the client.
/// <list type="number">
/// <item>allow: the peer's uid is in allow.users, or its primary or a supplementary gid is in
/// allow.groups; both empty lets in anyone the socket's mode lets connect.</item>
/// <item>A QEMU (argv[0] qemu-*) whose <c>-name</c> is listed in the region's vms is that VM; any other
/// QEMU is refused (it must not get in as a host peer of its user).</item>
/// <item>Any other process of a user in host_users is a host peer, named by the name it bound its
/// socket to (docs/protocol.md, "Host peer names") or host:USER:PID.</item>
/// <item>Anything else is refused.</item>
/// </list>
/// </summary>
internal sealed class AdmissionPolicy
{
    /// <summary>The abstract socket address prefix a host peer binds to in order to choose its name:
    /// "\0ivshmem-peer/&lt;unique token&gt;/&lt;name&gt;".</summary>
    public const string HostPeerAddressPrefix = "ivshmem-peer/";

    private readonly RegionOptions _options;
    private readonly HashSet<uint> _allowUids = [];
    private readonly HashSet<uint> _allowGids = [];
    private readonly HashSet<uint> _hostUids = [];

    private AdmissionPolicy(RegionOptions options) => _options = options;

    /// <summary>Names that do not exist on this system are reported through <paramref name="unknown"/>
    /// and simply match nobody: a typo must not open the region to everyone.</summary>
    public static AdmissionPolicy Resolve(RegionOptions options, Action<string> unknown)
    {
        var policy = new AdmissionPolicy(options);
        foreach (string user in options.AllowUsers)
        {
            if (Interop.LookupUser(user) is { } u) policy._allowUids.Add(u.Uid);
            else unknown($"allow.users names '{user}', which is not a user on this system");
        }
        foreach (string group in options.AllowGroups)
        {
            if (Interop.LookupGroup(group) is { } g) policy._allowGids.Add(g);
            else unknown($"allow.groups names '{group}', which is not a group on this system");
        }
        foreach (string user in options.HostUsers)
        {
            if (Interop.LookupUser(user) is { } u) policy._hostUids.Add(u.Uid);
            else unknown($"host_users names '{user}', which is not a user on this system");
        }
        return policy;
    }

    /// <param name="isQemu">The peer is a QEMU process (see <see cref="Identify"/>): never a host peer.</param>
    /// <param name="vmName">The QEMU -name from the peer's /proc/PID/cmdline, or null.</param>
    /// <param name="boundName">What the peer bound its socket to (abstract address), or null.</param>
    /// <param name="nameInUse">Whether a connected peer of the region already has this name.</param>
    public AdmissionDecision Decide(PeerCredentials credentials, uint[]? groups, string userName, bool isQemu, string? vmName, string? boundName, Func<string, bool> nameInUse)
    {
        if (!IsAllowed(credentials, groups))
            return AdmissionDecision.Refuse(RefusalReason.NotAdmitted, $"user '{userName}' (uid {credentials.Uid}) is not in allow.users and none of its groups is in allow.groups");

        if (vmName is not null && _options.Vms.Contains(vmName, StringComparer.Ordinal))
        {
            if (nameInUse(vmName))
                return AdmissionDecision.Refuse(RefusalReason.NameInUse, $"VM '{vmName}' is already connected to this region");
            return new AdmissionDecision(RefusalReason.None, PeerKind.VirtualMachine, vmName, $"VM '{vmName}'");
        }

        if (isQemu)
        {
            // A VM that is not paired on this region must not slip in as a host peer of its user.
            string what = vmName is null ? "it is a QEMU without -name" : $"VM '{vmName}' is not one of the region's vms ({string.Join(", ", _options.Vms)})";
            return AdmissionDecision.Refuse(RefusalReason.NotAdmitted, what);
        }

        if (!_hostUids.Contains(credentials.Uid))
        {
            string what = vmName is null
                ? $"it is not a QEMU with -name set (pid {credentials.Pid})"
                : $"VM '{vmName}' is not one of the region's vms ({string.Join(", ", _options.Vms)})";
            return AdmissionDecision.Refuse(RefusalReason.NotAdmitted, $"{what}, and user '{userName}' is not in host_users");
        }

        string? chosen = ChosenName(boundName);
        if (chosen is not null)
        {
            if (_options.Vms.Contains(chosen, StringComparer.Ordinal))
                return AdmissionDecision.Refuse(RefusalReason.NameInUse, $"host peer name '{chosen}' is the name of one of the region's VMs");
            if (nameInUse(chosen))
                return AdmissionDecision.Refuse(RefusalReason.NameInUse, $"host peer name '{chosen}' is already connected to this region");
            return new AdmissionDecision(RefusalReason.None, PeerKind.HostProcess, chosen, $"host peer '{chosen}' of user '{userName}'");
        }
        string name = DefaultHostName(userName, credentials.Pid);
        return new AdmissionDecision(RefusalReason.None, PeerKind.HostProcess, name, $"host peer of user '{userName}'");
    }

    /// <summary>host:USER:PID, shortened to fit the peer table's 64 bytes.</summary>
    internal static string DefaultHostName(string userName, int pid)
    {
        string suffix = $":{pid}";
        string user = userName.Length > 40 ? userName[..40] : userName;
        return "host:" + user + suffix;
    }

    /// <summary>The name part of "ivshmem-peer/TOKEN/NAME", when it is a valid peer name: 1..48
    /// characters of letters, digits, '-', '_' and '.' (as region names), so it cannot look like a
    /// default host:USER:PID name and fits the peer table.</summary>
    internal static string? ChosenName(string? boundName)
    {
        if (boundName is null || !boundName.StartsWith(HostPeerAddressPrefix, StringComparison.Ordinal)) return null;
        int slash = boundName.IndexOf('/', HostPeerAddressPrefix.Length);
        if (slash < 0) return null;
        string name = boundName[(slash + 1)..];
        if (name.Length is 0 or > 48) return null;
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) return null;
        return name;
    }

    private bool IsAllowed(PeerCredentials credentials, uint[]? groups)
    {
        if (_options.AllowUsers.Count == 0 && _options.AllowGroups.Count == 0) return true;
        if (_allowUids.Contains(credentials.Uid)) return true;
        if (_allowGids.Contains(credentials.Gid)) return true;
        if (groups is not null)
            foreach (uint g in groups)
                if (_allowGids.Contains(g)) return true;
        return false;
    }

    /// <summary>
    /// What the argv of process <paramref name="pid"/> says about it: whether it is a QEMU (argv[0] is
    /// qemu-system-*, qemu-kvm and the like) and, if so, its VM name (QEMU's -name guest=). Only a QEMU
    /// has a VM name: a host tool may well take a "--name" option of its own. Both unknown when /proc
    /// cannot be read (it exited, or lives in another PID namespace: pid 0).
    /// </summary>
    public static (bool IsQemu, string? VmName) Identify(int pid)
    {
        if (pid <= 0) return (false, null);
        byte[] cmdline;
        try { cmdline = File.ReadAllBytes($"/proc/{pid}/cmdline"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return (false, null); }
        int end = Array.IndexOf(cmdline, (byte)0);
        string program = Path.GetFileName(System.Text.Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end));
        bool isQemu = program.StartsWith("qemu", StringComparison.Ordinal);
        return (isQemu, isQemu ? QemuProcessName.FromCmdline(cmdline) : null);
    }
}
