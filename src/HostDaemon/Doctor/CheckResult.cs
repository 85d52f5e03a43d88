namespace Ivshmem.Daemon.Doctor;

/// <summary>How a check came out. Printed as the first word of its line.</summary>
internal enum Verdict
{
    /// <summary>Nothing to do.</summary>
    Pass,

    /// <summary>Works, but may not in some setups, or wastes something; exit status stays 0.</summary>
    Warn,

    /// <summary>Something will fail (the daemon will not start, QEMU will not connect); exit status 1.</summary>
    Fail,
}

/// <summary>One line of <c>ivshmemd doctor</c>: which check, about what, the verdict, and the fix.</summary>
/// <param name="Check">The check's name as listed in the man page (qemu, group, socket-dir, ...).</param>
/// <param name="Message">What was found, naming the file, user or region it is about.</param>
/// <param name="Fix">What to do about a WARN or FAIL; null for PASS.</param>
internal sealed record CheckResult(string Check, Verdict Verdict, string Message, string? Fix = null)
{
    public static CheckResult Pass(string check, string message) => new(check, Verdict.Pass, message);
    public static CheckResult Warn(string check, string message, string fix) => new(check, Verdict.Warn, message, fix);
    public static CheckResult Fail(string check, string message, string fix) => new(check, Verdict.Fail, message, fix);

    public string VerdictWord => Verdict switch
    {
        Verdict.Pass => "PASS",
        Verdict.Warn => "WARN",
        _ => "FAIL",
    };

    /// <summary>"FAIL  group: ...; fix: ...": the line doctor prints.</summary>
    public override string ToString() => $"{VerdictWord}  {Check}: {Message}{(Fix is null ? "" : "; fix: " + Fix)}";
}
