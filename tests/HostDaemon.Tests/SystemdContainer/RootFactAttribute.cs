namespace Ivshmem.Daemon.Tests.SystemdContainer;

/// <summary>
/// A <see cref="FactAttribute"/> for tests that need root (debootstrap, systemd-nspawn). xunit 2.9.3 has
/// no dynamic skip (<c>Assert.Skip</c> is xunit v3), so the condition is checked here, when xunit reads
/// the attribute during discovery: when the process is not root, <see cref="FactAttribute.Skip"/> is set
/// to the reason, and the test is reported as skipped with that reason instead of passing or failing.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    /// <param name="because">What the test does as root, for the skip reason.</param>
    public RootFactAttribute(string because = "builds a Debian root with debootstrap and boots it with systemd-nspawn (run scripts/test as root, or sudo scripts/systemd-e2e)")
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root: " + because;
    }
}
